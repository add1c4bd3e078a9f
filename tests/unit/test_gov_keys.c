/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for gov/keys.c: fingerprints match ssh-keygen -lf for real keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "custos/gov.h"

/* Generated once with ssh-keygen -t ed25519 / -t rsa; fingerprints from ssh-keygen -lf. */
#define ED25519_PUB                                                                                \
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAe358cKs1MpUWLm8iFffnABR/5On+Em+/2e51y5XRVZ "            \
    "alice@laptop"
#define ED25519_FP "SHA256:Pf7BHorDgAM2g0V+dtrMFs0os28KV88mpQk3V1D2UTw"
#define RSA_PUB                                                                                    \
    "ssh-rsa "                                                                                     \
    "AAAAB3NzaC1yc2EAAAADAQABAAABAQCxNgBQQryq/TZf1cqUJAnBU0WeKKUyd5oW97ZO9j+uxWf3Vr60U7/"          \
    "tedaN9Xu3M/KQ+W26hmWkLl/fzduFNrU76le48vgsuGHvyAFPOPY5DF6yx7hAc7Q7KWYdIar+"                    \
    "dJLn5CMvOgZcH3YOK4supmnG8T+McQqHZxPn2KpkkNhLjq2Ljy/"                                          \
    "hv8Y1PbFgshZB4AXp5h7445zDsrO6esohwf4s0tvD9z"                                                  \
    "k/"                                                                                           \
    "j9oz14FFF5hc0bhV6ggKCtOH4oku9UwiszfiaKJgT+GJMxFa5S5nsoIhFwljpL0IHDfzT5ZWMhpxu58tcc0im1gKRK2q" \
    "G6MSUWCsfTiajz8IW718NO8pl1z7 bob@desk"
#define RSA_FP "SHA256:MZgTtcuv943vjcMVg9otK8ouR7+fLJQk+AQmb0uvqqY"

static void test_fp_ed25519(void **state)
{
    char fp[GOV_FP_MAX];

    assert_int_equal(gov_key_fingerprint(ED25519_PUB, fp, sizeof(fp)), 0);
    assert_string_equal(fp, ED25519_FP);
    assert_true(gov_fp_is_valid(fp));
    /* The comment is not part of the key; a line ending and leading blanks are fine. */
    assert_int_equal(gov_key_fingerprint("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAe358cKs1MpUWLm8iFf"
                                         "fnABR/5On+Em+/2e51y5XRVZ",
                                         fp, sizeof(fp)),
                     0);
    assert_string_equal(fp, ED25519_FP);
    assert_int_equal(gov_key_fingerprint("  " ED25519_PUB "\r\n", fp, sizeof(fp)), 0);
    assert_string_equal(fp, ED25519_FP);
    assert_int_equal(gov_key_fingerprint("ssh-ed25519\tAAAAC3NzaC1lZDI1NTE5AAAAIAe358cKs1MpUWLm8iF"
                                         "ffnABR/5On+Em+/2e51y5XRVZ\tsome comment with spaces",
                                         fp, sizeof(fp)),
                     0);
    assert_string_equal(fp, ED25519_FP);
}

static void test_fp_rsa(void **state)
{
    char fp[GOV_FP_MAX];

    assert_int_equal(gov_key_fingerprint(RSA_PUB, fp, sizeof(fp)), 0);
    assert_string_equal(fp, RSA_FP);
}

static void test_fp_rejects(void **state)
{
    char fp[GOV_FP_MAX];

    memcpy(fp, "untouched", 10);
    /* The type word must be the type inside the blob. */
    assert_int_equal(gov_key_fingerprint("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIAe358cKs1MpUWLm8iFffnAB"
                                         "R/5On+Em+/2e51y5XRVZ x",
                                         fp, sizeof(fp)),
                     -ERR_INVAL);
    assert_int_equal(gov_key_fingerprint("ssh-ed25519", fp, sizeof(fp)), -ERR_INVAL);
    assert_int_equal(gov_key_fingerprint("ssh-ed25519 ", fp, sizeof(fp)), -ERR_INVAL);
    assert_int_equal(gov_key_fingerprint("", fp, sizeof(fp)), -ERR_INVAL);
    assert_int_equal(gov_key_fingerprint(NULL, fp, sizeof(fp)), -ERR_INVAL);
    /* Not base64, bad padding, truncated blob. */
    assert_int_equal(gov_key_fingerprint("ssh-ed25519 AAAA!!!! x", fp, sizeof(fp)), -ERR_INVAL);
    assert_int_equal(gov_key_fingerprint("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAe358cKs1MpUWLm8iFf"
                                         "fnABR/5On+Em+/2e51y5XRVZ=",
                                         fp, sizeof(fp)),
                     -ERR_INVAL);
    assert_int_equal(gov_key_fingerprint("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 x", fp, sizeof(fp)),
                     -ERR_INVAL);
    assert_int_equal(gov_key_fingerprint("ssh-ed25519 AAAAC3Nz x", fp, sizeof(fp)), -ERR_INVAL);
    assert_int_equal(gov_key_fingerprint("ssh-ed25519 AAAA", fp, sizeof(fp)), -ERR_INVAL);
    /* Options before the key (authorized_keys syntax) are not a bare key line. */
    assert_int_equal(gov_key_fingerprint("no-pty " ED25519_PUB, fp, sizeof(fp)), -ERR_INVAL);
    /* A second line is refused. */
    assert_int_equal(gov_key_fingerprint(ED25519_PUB "\n" RSA_PUB, fp, sizeof(fp)), -ERR_INVAL);
    /* Output too small for the contract. */
    assert_int_equal(gov_key_fingerprint(ED25519_PUB, fp, GOV_FP_MAX - 1), -ERR_INVAL);
    assert_string_equal(fp, "untouched");
}

static void test_fp_valid(void **state)
{
    assert_true(gov_fp_is_valid(ED25519_FP));
    assert_false(gov_fp_is_valid("SHA256:Pf7BHorDgAM2g0V+dtrMFs0os28KV88mpQk3V1D2UT"));
    assert_false(gov_fp_is_valid("SHA256:Pf7BHorDgAM2g0V+dtrMFs0os28KV88mpQk3V1D2UTw="));
    assert_false(gov_fp_is_valid("MD5:Pf7BHorDgAM2g0V+dtrMFs0os28KV88mpQk3V1D2UTw"));
    assert_false(gov_fp_is_valid("SHA256:Pf7BHorDgAM2g0V-dtrMFs0os28KV88mpQk3V1D2UTw"));
    assert_false(gov_fp_is_valid(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fp_ed25519),
        cmocka_unit_test(test_fp_rsa),
        cmocka_unit_test(test_fp_rejects),
        cmocka_unit_test(test_fp_valid),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for gov/hr.c: strict CSV and JSON parsing with line numbers, checks, the plan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "custos/gov.h"

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);

    if (!v)
        fail_msg("bad test JSON at %d: %s", e.position, e.text);
    return v;
}

static void assert_json(const json_t *got, const char *expect)
{
    json_t *e = J(expect);

    if (!json_equal(got, e)) {
        char *s = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        fail_msg("got %s\nexpected %s", s, expect);
    }
    json_decref(e);
}

/* Parse; return r, hand back records and errors (caller frees). */
static int parse(const char *format, const char *data, size_t len, json_t **recs, json_t **errs)
{
    int r;

    *recs = *errs = NULL;
    r = gov_hr_parse(format, data, len, recs, errs);
    assert_non_null(*recs);
    assert_non_null(*errs);
    assert_int_equal(r, json_array_size(*errs) ? -ERR_PARSE : 0);
    return r;
}

static int parse_s(const char *format, const char *data, json_t **recs, json_t **errs)
{
    return parse(format, data, strlen(data), recs, errs);
}

/* Is there an error on `line` whose message contains `needle`? */
static bool has_error(const json_t *errs, json_int_t line, const char *needle)
{
    const json_t *e;
    size_t i;

    json_array_foreach(errs, i, e)
    {
        if (json_integer_value(json_object_get(e, "line")) == line &&
            strstr(json_string_value(json_object_get(e, "message")), needle))
            return true;
    }
    return false;
}

static void expect_error(const json_t *errs, json_int_t line, const char *needle)
{
    if (!has_error(errs, line, needle)) {
        char *s = json_dumps(errs, JSON_COMPACT);
        fail_msg("no error on line %lld with \"%s\" in %s", (long long)line, needle, s);
    }
}

static void test_csv_rfc4180(void **state)
{
    const char csv[] = "id,name,email,department,title,manager,groups,status\r\n"
                       "bob,Bob Boss,bob@example.com,ops,Head,,,\r\n"
                       "alice,\"Liddell, Alice\",alice@example.com,ops,\"SRE "
                       "\"\"II\"\"\",bob,oncall;dba,active\r\n"
                       "carol,\"Carol\r\nTwo Lines\",carol@example.com,,,bob,,Suspended\r\n"
                       "dave,Dave,dave@example.com,,,,\" b ; a;;a \",inactive\r\n";
    json_t *recs, *errs;

    assert_int_equal(parse_s("csv", csv, &recs, &errs), 0);
    assert_json(recs, "[{\"id\":\"bob\",\"name\":\"Bob Boss\",\"email\":\"bob@example.com\","
                      "  \"department\":\"ops\",\"title\":\"Head\",\"manager\":null,"
                      "  \"groups\":[],\"state\":\"active\",\"line\":2},"
                      " {\"id\":\"alice\",\"name\":\"Liddell, Alice\","
                      "  \"email\":\"alice@example.com\",\"department\":\"ops\","
                      "  \"title\":\"SRE \\\"II\\\"\",\"manager\":\"bob\","
                      "  \"groups\":[\"dba\",\"oncall\"],\"state\":\"active\",\"line\":3},"
                      " {\"id\":\"carol\",\"name\":\"Carol\\r\\nTwo Lines\","
                      "  \"email\":\"carol@example.com\",\"department\":null,\"title\":null,"
                      "  \"manager\":\"bob\",\"groups\":[],\"state\":\"suspended\",\"line\":4},"
                      " {\"id\":\"dave\",\"name\":\"Dave\",\"email\":\"dave@example.com\","
                      "  \"department\":null,\"title\":null,\"manager\":null,"
                      "  \"groups\":[\"a\",\"b\"],\"state\":\"left\",\"line\":6}]");
    json_decref(recs);
    json_decref(errs);
}

static void test_csv_header(void **state)
{
    json_t *recs, *errs;

    /* BOM, any case, columns in any order, LF endings, no final newline. */
    assert_int_equal(parse_s("csv",
                             "\xef\xbb\xbf"
                             "EMAIL,Id,NAME\nx@y.z,xy,X Y",
                             &recs, &errs),
                     0);
    assert_int_equal(json_array_size(recs), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 0), "id")), "xy");
    json_decref(recs);
    json_decref(errs);

    assert_int_equal(parse_s("csv", "id,name,email,phone\na,A,a@b.c,123\n", &recs, &errs),
                     -ERR_PARSE);
    expect_error(errs, 1, "unknown column \"phone\"");
    assert_int_equal(json_array_size(recs), 0);
    json_decref(recs);
    json_decref(errs);

    assert_int_equal(parse_s("csv", "id,name\na,A\n", &recs, &errs), -ERR_PARSE);
    expect_error(errs, 1, "email");
    json_decref(recs);
    json_decref(errs);

    assert_int_equal(parse_s("csv", "id,name,email,ID\n", &recs, &errs), -ERR_PARSE);
    expect_error(errs, 1, "twice");
    json_decref(recs);
    json_decref(errs);

    /* Header only: no rows, no errors. */
    assert_int_equal(parse_s("csv", "id,name,email\r\n", &recs, &errs), 0);
    assert_int_equal(json_array_size(recs), 0);
    json_decref(recs);
    json_decref(errs);

    assert_int_equal(parse_s("csv", "", &recs, &errs), -ERR_PARSE);
    expect_error(errs, 0, "empty");
    json_decref(recs);
    json_decref(errs);
    assert_int_equal(parse_s("csv", "\n\n", &recs, &errs), -ERR_PARSE);
    expect_error(errs, 0, "header");
    json_decref(recs);
    json_decref(errs);
    assert_int_equal(parse_s("xml", "<x/>", &recs, &errs), -ERR_PARSE);
    expect_error(errs, 0, "format");
    json_decref(recs);
    json_decref(errs);
}

static void test_csv_bad_rows(void **state)
{
    const char csv[] = "id,name,email,manager,status\n"
                       "ok1,One,one@example.com,,\n"          /* 2 */
                       ",Nobody,no@example.com,,\n"           /* 3 missing id */
                       ".bad,Bad,bad@example.com,,\n"         /* 4 bad id */
                       "noname,,nn@example.com,,\n"           /* 5 missing name */
                       "nomail,No Mail,,,\n"                  /* 6 missing email */
                       "badmail,Bad Mail,nope,,\n"            /* 7 bad email */
                       "st,Status,st@example.com,,retired\n"  /* 8 unknown status */
                       "few,Few\n"                            /* 9 field count */
                       "\n"                                   /* 10 blank: skipped */
                       "ok1,Again,again@example.com,,\n"      /* 11 duplicate */
                       "orphan,Orphan,o@example.com,ghost,\n" /* 12 unknown manager */
                       "mgr,Mgr,m@example.com,bad id,\n"      /* 13 bad manager id */
                       "ok2,Two,two@example.com,few,\n";      /* 14 manager in a bad row: known */
    json_t *recs, *errs;

    assert_int_equal(parse_s("csv", csv, &recs, &errs), -ERR_PARSE);
    expect_error(errs, 3, "missing id");
    expect_error(errs, 4, "bad id \".bad\"");
    expect_error(errs, 5, "missing name");
    expect_error(errs, 6, "missing email");
    expect_error(errs, 7, "bad email \"nope\"");
    expect_error(errs, 8, "unknown status \"retired\"");
    expect_error(errs, 9, "expected 5 fields, found 2");
    expect_error(errs, 11, "duplicate id ok1 (first on line 2)");
    expect_error(errs, 12, "manager ghost of orphan is not in the file");
    expect_error(errs, 13, "bad manager id \"bad id\"");
    assert_int_equal(json_array_size(errs), 10);
    /* Errors come in line order. */
    for (size_t i = 1; i < json_array_size(errs); i++)
        assert_true(json_integer_value(json_object_get(json_array_get(errs, i - 1), "line")) <=
                    json_integer_value(json_object_get(json_array_get(errs, i), "line")));
    /* Only the good rows are records. */
    assert_int_equal(json_array_size(recs), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 0), "id")), "ok1");
    assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 0), "name")), "One");
    json_decref(recs);
    json_decref(errs);
}

static void test_csv_strict_quotes(void **state)
{
    json_t *recs, *errs;

    assert_int_equal(parse_s("csv", "id,name,email\na,Al \"x\" y,a@b.c\nb,B,b@b.c\n", &recs, &errs),
                     -ERR_PARSE);
    expect_error(errs, 2, "quote inside an unquoted field");
    assert_int_equal(json_array_size(recs), 1); /* the next row is still read */
    json_decref(recs);
    json_decref(errs);

    assert_int_equal(parse_s("csv", "id,name,email\na,\"Al\"x,a@b.c\nb,B,b@b.c\n", &recs, &errs),
                     -ERR_PARSE);
    expect_error(errs, 2, "after a closing quote");
    assert_int_equal(json_array_size(recs), 1);
    json_decref(recs);
    json_decref(errs);

    /* Unterminated: reported where the row starts, and parsing stops. */
    assert_int_equal(parse_s("csv", "id,name,email\nok,O,o@b.c\na,\"Al\nb,B,b@b.c\n", &recs, &errs),
                     -ERR_PARSE);
    expect_error(errs, 3, "unterminated");
    assert_int_equal(json_array_size(errs), 1);
    json_decref(recs);
    json_decref(errs);

    assert_int_equal(parse_s("csv", "id,name,email\na,A\rB,a@b.c\n", &recs, &errs), -ERR_PARSE);
    expect_error(errs, 2, "carriage return");
    json_decref(recs);
    json_decref(errs);

    /* A quoted empty field is a value, not a blank line. */
    assert_int_equal(parse_s("csv", "id,name,email\n\"\"\n", &recs, &errs), -ERR_PARSE);
    expect_error(errs, 2, "expected 3 fields");
    json_decref(recs);
    json_decref(errs);

    /* NUL bytes and invalid UTF-8. */
    assert_int_equal(parse("csv", "id,name,email\na,A\0B,a@b.c\n", 27, &recs, &errs), -ERR_PARSE);
    expect_error(errs, 2, "NUL");
    json_decref(recs);
    json_decref(errs);
    assert_int_equal(parse_s("csv", "id,name,email\na,A\xff,a@b.c\n", &recs, &errs), -ERR_PARSE);
    expect_error(errs, 2, "UTF-8");
    json_decref(recs);
    json_decref(errs);
    assert_int_equal(parse_s("csv", "id,name,email\na,Andr\xc3\xa9,a@b.c\n", &recs, &errs), 0);
    json_decref(recs);
    json_decref(errs);
}

static void test_csv_line_numbers_across_quoted_newlines(void **state)
{
    const char csv[] = "id,name,email\n"
                       "a,\"line\nline\nline\",a@b.c\n" /* lines 2-4 */
                       "b,B,bad\n";                     /* line 5 */
    json_t *recs, *errs;

    assert_int_equal(parse_s("csv", csv, &recs, &errs), -ERR_PARSE);
    expect_error(errs, 5, "bad email");
    json_decref(recs);
    json_decref(errs);
}

static void test_cycles(void **state)
{
    const char csv[] = "id,name,email,manager\n"
                       "a,A,a@x.y,b\n"  /* 2 */
                       "b,B,b@x.y,c\n"  /* 3 */
                       "c,C,c@x.y,a\n"  /* 4 */
                       "d,D,d@x.y,d\n"  /* 5: self */
                       "e,E,e@x.y,a\n"  /* 6: leads into the cycle, not on it */
                       "f,F,f@x.y,\n"   /* 7 */
                       "g,G,g@x.y,f\n"; /* 8 */
    json_t *recs, *errs;

    assert_int_equal(parse_s("csv", csv, &recs, &errs), -ERR_PARSE);
    expect_error(errs, 2, "manager cycle: a -> b -> c -> a");
    expect_error(errs, 3, "manager cycle: b -> c -> a -> b");
    expect_error(errs, 4, "manager cycle: c -> a -> b -> c");
    expect_error(errs, 5, "manager cycle: d -> d");
    assert_int_equal(json_array_size(errs), 4);
    json_decref(recs);
    json_decref(errs);
}

static void test_long_cycle_and_row_limit(void **state)
{
    size_t n = GOV_HR_ROWS_MAX, cap = 64 + n * 48, len = 0;
    char *csv = malloc(cap);
    json_t *recs, *errs;

    assert_non_null(csv);
    len += (size_t)snprintf(csv + len, cap - len, "id,name,email,manager\n");
    /* One cycle through every row: each of them is reported, messages stay short. */
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(csv + len, cap - len, "u%zu,U,u@x.y,u%zu\n", i, (i + 1) % n);
    assert_int_equal(parse("csv", csv, len, &recs, &errs), -ERR_PARSE);
    assert_int_equal(json_array_size(errs), n);
    expect_error(errs, 2, "manager cycle: u0 -> u1 -> u2");
    expect_error(errs, 2, "(100000 identities)");
    assert_true(strlen(json_string_value(json_object_get(json_array_get(errs, 0), "message"))) <
                256);
    json_decref(recs);
    json_decref(errs);
    /* One row too many. */
    len += (size_t)snprintf(csv + len, cap - len, "last,L,l@x.y,\n");
    assert_int_equal(parse("csv", csv, len, &recs, &errs), -ERR_PARSE);
    expect_error(errs, (json_int_t)n + 2, "more than 100000 rows");
    json_decref(recs);
    json_decref(errs);
    free(csv);
}

static void test_field_limit(void **state)
{
    char *csv = malloc(4096), *big = malloc(GOV_HR_FIELD_MAX + 2);
    json_t *recs, *errs;

    assert_non_null(csv);
    assert_non_null(big);
    memset(big, 'n', GOV_HR_FIELD_MAX + 1);
    big[GOV_HR_FIELD_MAX] = '\0';
    snprintf(csv, 4096, "id,name,email\na,%s,a@b.c\n", big);
    assert_int_equal(parse_s("csv", csv, &recs, &errs), 0);
    json_decref(recs);
    json_decref(errs);
    big[GOV_HR_FIELD_MAX] = 'n';
    big[GOV_HR_FIELD_MAX + 1] = '\0';
    snprintf(csv, 4096, "id,name,email\na,\"%s\",a@b.c\nb,B,b@b.c\n", big);
    assert_int_equal(parse_s("csv", csv, &recs, &errs), -ERR_PARSE);
    expect_error(errs, 2, "longer than 1024");
    assert_int_equal(json_array_size(recs), 1);
    json_decref(recs);
    json_decref(errs);
    snprintf(csv, 4096, "[{\"id\":\"a\",\"name\":\"%s\",\"email\":\"a@b.c\"}]", big);
    assert_int_equal(parse_s("json", csv, &recs, &errs), -ERR_PARSE);
    expect_error(errs, 1, "longer than 1024");
    json_decref(recs);
    json_decref(errs);
    free(csv);
    free(big);
}

static void test_json(void **state)
{
    const char js[] =
        "[{\"id\":\"bob\",\"name\":\"Bob\",\"email\":\"bob@x.y\",\"groups\":[\"ops\",\"dba\"]},"
        " {\"ID\":\"alice\",\"Name\":\"Alice\",\"EMAIL\":\"alice@x.y\",\"manager\":\"bob\","
        "  \"groups\":\"oncall;ops\",\"status\":\"suspended\",\"title\":null}]";
    json_t *recs, *errs;

    assert_int_equal(parse_s("json", js, &recs, &errs), 0);
    assert_json(recs, "[{\"id\":\"bob\",\"name\":\"Bob\",\"email\":\"bob@x.y\",\"department\":null,"
                      "  \"title\":null,\"manager\":null,\"groups\":[\"dba\",\"ops\"],"
                      "  \"state\":\"active\",\"line\":1},"
                      " {\"id\":\"alice\",\"name\":\"Alice\",\"email\":\"alice@x.y\","
                      "  \"department\":null,\"title\":null,\"manager\":\"bob\","
                      "  \"groups\":[\"oncall\",\"ops\"],\"state\":\"suspended\",\"line\":2}]");
    json_decref(recs);
    json_decref(errs);
}

/* Every problem of a row is reported, not only the first (a long or non-UTF-8 field too). */
static void test_all_errors_of_a_row(void **state)
{
    json_t *recs, *errs;

    /* A field that is not UTF-8 is left out of the other checks; the rest are still made.
     * (A row whose shape is broken, a bad quote, the wrong number of fields, a field over
     * the reader's limit, is one error: its fields cannot be told apart.) */
    assert_int_equal(parse_s("csv",
                             "id,name,email,manager,status\nx,\xff\xfe,not-an-email,b@d,odd\n",
                             &recs, &errs),
                     -ERR_PARSE);
    expect_error(errs, 2, "field name is not valid UTF-8");
    expect_error(errs, 2, "bad email \"not-an-email\"");
    expect_error(errs, 2, "bad manager id \"b@d\"");
    expect_error(errs, 2, "unknown status \"odd\"");
    assert_int_equal(json_array_size(errs), 4);
    assert_int_equal(json_array_size(recs), 0);
    json_decref(recs);
    json_decref(errs);

    assert_int_equal(parse_s("json",
                             "[{\"id\":\"y\",\"name\":7,\"email\":\"nope\",\"phone\":\"1\","
                             "\"status\":\"gone\"}]",
                             &recs, &errs),
                     -ERR_PARSE);
    expect_error(errs, 1, "name must be a string");
    expect_error(errs, 1, "unknown key \"phone\"");
    expect_error(errs, 1, "bad email \"nope\"");
    expect_error(errs, 1, "unknown status \"gone\"");
    assert_int_equal(json_array_size(errs), 4); /* no "missing name": it was given, badly */
    json_decref(recs);
    json_decref(errs);

    /* A duplicate id's other problems are reported too. */
    assert_int_equal(parse_s("csv", "id,name,email\na,A,a@x.y\na,,bad\n", &recs, &errs),
                     -ERR_PARSE);
    expect_error(errs, 3, "duplicate id a (first on line 2)");
    expect_error(errs, 3, "missing name for a");
    expect_error(errs, 3, "bad email \"bad\"");
    assert_int_equal(json_array_size(errs), 3);
    json_decref(recs);
    json_decref(errs);
}

static void test_json_errors(void **state)
{
    const char js[] =
        "[{\"id\":\"a\",\"name\":\"A\",\"email\":\"a@x.y\"},"                                /* 1 */
        " 42,"                                                                               /* 2 */
        " {\"id\":\"b\",\"name\":\"B\",\"email\":\"b@x.y\",\"phone\":\"1\"},"                /* 3 */
        " {\"id\":\"c\",\"name\":\"C\",\"email\":\"c@x.y\",\"ID\":\"d\"},"                   /* 4 */
        " {\"id\":\"e\",\"name\":5,\"email\":\"e@x.y\"},"                                    /* 5 */
        " {\"id\":\"f\",\"name\":\"F\",\"email\":\"f@x.y\",\"groups\":[\"ok\",\"no way\"]}," /* 6 */
        " {\"id\":\"a\",\"name\":\"A2\",\"email\":\"a@x.y\"},"                               /* 7 */
        " {\"id\":\"g\",\"name\":\"G\",\"email\":\"g@x.y\",\"manager\":\"h\"},"              /* 8 */
        " {\"id\":\"h\",\"name\":\"H\",\"email\":\"h@x.y\",\"manager\":\"g\"}]";             /* 9 */
    json_t *recs, *errs;

    assert_int_equal(parse_s("json", js, &recs, &errs), -ERR_PARSE);
    expect_error(errs, 2, "not an object");
    expect_error(errs, 3, "unknown key \"phone\"");
    expect_error(errs, 4, "twice");
    expect_error(errs, 5, "name must be a string");
    expect_error(errs, 6, "groups[1]");
    expect_error(errs, 7, "duplicate id a (first on line 1)");
    expect_error(errs, 8, "manager cycle: g -> h -> g");
    expect_error(errs, 9, "manager cycle: h -> g -> h");
    assert_int_equal(json_array_size(errs), 8);
    json_decref(recs);
    json_decref(errs);

    assert_int_equal(parse_s("json", "{\"id\":\"a\"}", &recs, &errs), -ERR_PARSE);
    expect_error(errs, 0, "array");
    json_decref(recs);
    json_decref(errs);
    assert_int_equal(parse_s("json", "[\n{\"id\":\"a\",\n\"name\": }]", &recs, &errs), -ERR_PARSE);
    expect_error(errs, 3, "not valid JSON");
    json_decref(recs);
    json_decref(errs);
    assert_int_equal(parse_s("json", "\xef\xbb\xbf[]", &recs, &errs), 0);
    json_decref(recs);
    json_decref(errs);
    /* Exact duplicate keys are refused by the JSON reader itself. */
    assert_int_equal(parse_s("json", "[{\"id\":\"a\",\"id\":\"b\"}]", &recs, &errs), -ERR_PARSE);
    json_decref(recs);
    json_decref(errs);
}

/* ---- plan ---- */

static const char current_json[] =
    "{\"alice\":{\"id\":\"alice\",\"source\":\"hr\",\"state\":\"active\",\"name\":\"Alice\","
    "            \"email\":\"alice@x.y\",\"department\":\"ops\",\"groups\":[\"b\",\"a\"]},"
    " \"bob\":{\"id\":\"bob\",\"source\":\"hr\",\"state\":\"active\",\"name\":\"Bob\","
    "          \"email\":\"bob@x.y\",\"title\":\"\",\"groups\":[]},"
    " \"carol\":{\"id\":\"carol\",\"source\":\"hr\",\"state\":\"suspended\",\"name\":\"Carol\","
    "            \"email\":\"carol@x.y\",\"groups\":[]},"
    " \"dave\":{\"id\":\"dave\",\"source\":\"hr\",\"state\":\"left\",\"name\":\"Dave\","
    "           \"email\":\"dave@x.y\",\"groups\":[]},"
    " \"erin\":{\"id\":\"erin\",\"source\":\"manual\",\"state\":\"active\",\"name\":\"Erin\","
    "           \"email\":\"erin@x.y\",\"groups\":[]},"
    " \"frank\":{\"id\":\"frank\",\"source\":\"hr\",\"state\":\"pending\",\"name\":\"Frank\","
    "            \"email\":\"frank@x.y\",\"groups\":[]},"
    " \"gus\":{\"id\":\"gus\",\"source\":\"hr\",\"state\":\"active\",\"name\":\"Gus\"},"
    " \"henry\":{\"id\":\"henry\",\"source\":\"manual\",\"state\":\"active\",\"name\":\"Henry\"},"
    " \"kim\":{\"id\":\"kim\",\"source\":\"hr\",\"state\":\"active\",\"name\":\"Kim\","
    "          \"email\":\"kim@x.y\",\"groups\":[]},"
    " \"lee\":{\"id\":\"lee\",\"source\":\"hr\",\"state\":\"left\",\"name\":\"Lee\"},"
    " \"abe\":{\"id\":\"abe\",\"source\":\"hr\",\"state\":\"suspended\",\"name\":\"Abe\"}}";

static const char csv_ok[] = "id,name,email,department,title,manager,groups,status\n"
                             "alice,Alice,alice@x.y,ops,,,a;b,active\n" /* unchanged */
                             "bob,Bob,bob@x.y,,Boss,,,\n"               /* title */
                             "carol,Carol,carol@x.y,,,bob,,active\n"    /* manager, state */
                             "erin,Erin,erin@x.y,,,,,\n"                /* manual, unchanged */
                             "frank,Frank,frank@x.y,,,,,\n"             /* pending -> active */
                             "ian,Ian,ian@x.y,dev,,alice,x,\n"          /* joiner */
                             "jack,Jack,jack@x.y,,,,,left\n"            /* unknown, left: ignored */
                             "kim,Kim,kim@x.y,,,,,inactive\n"           /* leaver by status */
                             "lee,Lee,lee@x.y,,,,,left\n";              /* left already */

static void test_plan(void **state)
{
    json_t *recs, *errs, *cur = J(current_json), *plan = NULL, *perr = NULL, *mv;

    assert_int_equal(parse_s("csv", csv_ok, &recs, &errs), 0);
    assert_int_equal(gov_hr_plan(recs, cur, &plan, &perr), 0);
    assert_int_equal(json_array_size(perr), 0);
    assert_int_equal(json_array_size(json_object_get(plan, "joiners")), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(plan, "joiners"), 0), "id")),
                        "ian");
    /* Leavers: by status (kim), HR identities missing from the file (gus, abe), sorted. */
    assert_json(json_object_get(plan, "leavers"), "[\"abe\",\"gus\",\"kim\"]");
    /* alice (groups equal as sets), erin (manual, same), lee (left, says left). */
    assert_int_equal(json_integer_value(json_object_get(plan, "unchanged")), 3);
    mv = json_object_get(plan, "movers");
    assert_int_equal(json_array_size(mv), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(mv, 0), "id")), "bob");
    assert_json(json_object_get(json_array_get(mv, 0), "changes"), "{\"title\":[null,\"Boss\"]}");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(mv, 0), "record"), "title")),
                        "Boss");
    assert_json(json_object_get(json_array_get(mv, 1), "changes"),
                "{\"manager\":[null,\"bob\"],\"state\":[\"suspended\",\"active\"]}");
    assert_json(json_object_get(json_array_get(mv, 2), "changes"),
                "{\"state\":[\"pending\",\"active\"]}");
    json_decref(plan);
    json_decref(perr);
    json_decref(recs);
    json_decref(errs);
    json_decref(cur);
}

static void test_plan_changes(void **state)
{
    json_t *cur = J("{\"a\":{\"id\":\"a\",\"source\":\"hr\",\"state\":\"active\",\"name\":\"A\","
                    "      \"email\":\"a@x.y\",\"department\":\"ops\",\"title\":\"SRE\","
                    "      \"manager\":\"m\",\"groups\":[\"g1\",\"g2\"]},"
                    " \"m\":{\"id\":\"m\",\"source\":\"hr\",\"state\":\"active\",\"name\":\"M\","
                    "      \"email\":\"m@x.y\",\"groups\":[]},"
                    " \"n\":{\"id\":\"n\",\"source\":\"hr\",\"state\":\"active\",\"name\":\"N\","
                    "      \"email\":\"n@x.y\",\"groups\":[]}}");
    json_t *recs, *errs, *plan, *perr;

    assert_int_equal(parse_s("csv",
                             "id,name,email,department,title,manager,groups,status\n"
                             "a,A Two,a2@x.y,dev,SRE,n,g2;g3,suspended\n"
                             "m,M,m@x.y,,,,,\n"
                             "n,N,n@x.y,,,,,\n",
                             &recs, &errs),
                     0);
    assert_int_equal(gov_hr_plan(recs, cur, &plan, &perr), 0);
    assert_json(json_object_get(json_array_get(json_object_get(plan, "movers"), 0), "changes"),
                "{\"name\":[\"A\",\"A Two\"],\"email\":[\"a@x.y\",\"a2@x.y\"],"
                " \"department\":[\"ops\",\"dev\"],\"manager\":[\"m\",\"n\"],"
                " \"groups\":[[\"g1\",\"g2\"],[\"g2\",\"g3\"]],"
                " \"state\":[\"active\",\"suspended\"]}");
    assert_int_equal(json_integer_value(json_object_get(plan, "unchanged")), 2);
    assert_json(json_object_get(plan, "leavers"), "[]");
    json_decref(plan);
    json_decref(perr);
    json_decref(recs);
    json_decref(errs);
    json_decref(cur);
}

static void test_plan_left_id_never_reused(void **state)
{
    json_t *recs, *errs, *cur = J(current_json), *plan = (json_t *)1, *perr = NULL;

    assert_int_equal(parse_s("csv",
                             "id,name,email\n"
                             "alice,Alice,alice@x.y\n"
                             "dave,Dave Again,dave@x.y\n",
                             &recs, &errs),
                     0);
    assert_int_equal(gov_hr_plan(recs, cur, &plan, &perr), -ERR_PARSE);
    assert_null(plan);
    expect_error(perr, 3, "dave has left; an id is never reused");
    assert_int_equal(json_array_size(perr), 1);
    json_decref(perr);
    json_decref(recs);
    json_decref(errs);
    json_decref(cur);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_rfc4180),
        cmocka_unit_test(test_csv_header),
        cmocka_unit_test(test_csv_bad_rows),
        cmocka_unit_test(test_csv_strict_quotes),
        cmocka_unit_test(test_csv_line_numbers_across_quoted_newlines),
        cmocka_unit_test(test_cycles),
        cmocka_unit_test(test_long_cycle_and_row_limit),
        cmocka_unit_test(test_field_limit),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_all_errors_of_a_row),
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_plan_changes),
        cmocka_unit_test(test_plan_left_id_never_reused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

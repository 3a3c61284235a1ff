/*
 * TAP for the C unit tests, included by each t/unit/NAME_test.c: ok()
 * prints one numbered test line and counts the failures; the test's main
 * prints the plan ("1..N") and exits non-zero when failed is non-zero.
 * Static, one copy per test program: each test is a program of its own.
 */

#ifndef MB_TAP_H
#define MB_TAP_H

#include <stdio.h>


static int  test_no;
static int  failed;


static void
ok(int cond, const char *desc)
{
    printf("%sok %d - %s\n", cond ? "" : "not ", ++test_no, desc);
    failed += !cond;
}


#endif /* MB_TAP_H */

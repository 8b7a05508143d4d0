/* Includes every cmocka test needs, in the order cmocka requires. */
#ifndef DA_TEST_H
#define DA_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#endif

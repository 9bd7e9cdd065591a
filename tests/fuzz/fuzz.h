/*
 * fuzz.h - the libFuzzer entry point each harness defines.  The same
 * harness links either with libFuzzer (-fsanitize=fuzzer, --enable-fuzzing)
 * or with replay.c, which feeds it the committed corpus in `make check`.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef FY_FUZZ_H
#define FY_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif

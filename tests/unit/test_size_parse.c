/* SPDX-License-Identifier: MIT */
#include <stdint.h>

#include "check.h"
#include "size_parse.h"

static void expect(const char *text, uint64_t want)
{
	uint64_t got = 0;

	CHECK(size_parse(text, &got) == 0);
	if (got != want)
		fprintf(stderr, "size_parse(\"%s\") = %llu, want %llu\n", text,
			(unsigned long long)got, (unsigned long long)want);
	CHECK(got == want);
}

static void reject(const char *text)
{
	uint64_t got;

	if (size_parse(text, &got) == 0) {
		fprintf(stderr, "size_parse accepted \"%s\"\n", text);
		check_failures++;
	}
}

int main(void)
{
	expect("1048576", 1048576);
	expect("64k", 64 << 10);
	expect("64K", 64 << 10);
	expect("512M", 512ULL << 20);
	expect("512MiB", 512ULL << 20);
	expect("512MB", 512ULL << 20);
	expect("2G", 2ULL << 30);
	expect("2g", 2ULL << 30);
	expect("1T", 1ULL << 40);
	expect("0", 0);
	reject("");
	reject("G");
	reject("-1G");
	reject("+1G");
	reject(" 1G");
	reject("1G ");
	reject("1.5G");
	reject("1X");
	reject("1GiBx");
	reject("0x100");
	reject("18446744073709551616"); /* 2^64 */
	reject("17179869184G");		/* 2^34 GiB overflows */
	reject("99999999999999999999T");
	return check_result("size_parse");
}

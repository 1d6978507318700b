/* SPDX-License-Identifier: MIT */
/* A vsnprintf for kernel messages: %d %i %u %x %X %p %c %s %%, with the
 * flags '-' and '0', a width, a precision for %s (also '*'), and the length
 * modifiers h, hh, l, ll, z. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct out {
	char *buf;
	size_t size;
	size_t len;
};

struct spec {
	bool left;
	bool zero;
	int width;
	int precision; /* -1: none */
	int length;    /* 0 int, 1 long, 2 long long, -1 short, -2 char */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, int n, char c)
{
	while (n-- > 0)
		put(o, c);
}

static void put_string(struct out *o, const struct spec *sp, const char *s)
{
	int len = 0;

	if (s == NULL)
		s = "(null)";
	while (s[len] && (sp->precision < 0 || len < sp->precision))
		len++;
	if (!sp->left)
		pad(o, sp->width - len, ' ');
	for (int i = 0; i < len; i++)
		put(o, s[i]);
	if (sp->left)
		pad(o, sp->width - len, ' ');
}

static void put_number(struct out *o, const struct spec *sp, uint64_t v, bool negative,
		       unsigned int base, bool upper, const char *prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, extra;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	extra = (negative ? 1 : 0);
	for (const char *p = prefix; *p; p++)
		extra++;
	if (!sp->left && !sp->zero)
		pad(o, sp->width - n - extra, ' ');
	if (negative)
		put(o, '-');
	for (const char *p = prefix; *p; p++)
		put(o, *p);
	if (!sp->left && sp->zero)
		pad(o, sp->width - n - extra, '0');
	for (int i = n; i > 0; i--)
		put(o, tmp[i - 1]);
	if (sp->left)
		pad(o, sp->width - n - extra, ' ');
}

static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
	*sp = (struct spec){.precision = -1};
	for (;; f++) {
		if (*f == '-')
			sp->left = true;
		else if (*f == '0')
			sp->zero = true;
		else
			break;
	}
	if (*f == '*') {
		sp->width = va_arg(*ap, int);
		f++;
	}
	while (*f >= '0' && *f <= '9')
		sp->width = sp->width * 10 + (*f++ - '0');
	if (*f == '.') {
		f++;
		sp->precision = 0;
		if (*f == '*') {
			sp->precision = va_arg(*ap, int);
			f++;
		}
		while (*f >= '0' && *f <= '9')
			sp->precision = sp->precision * 10 + (*f++ - '0');
	}
	for (;; f++) {
		if (*f == 'l')
			sp->length++;
		else if (*f == 'h')
			sp->length--;
		else if (*f == 'z')
			sp->length = 1;
		else
			break;
	}
	return f;
}

static uint64_t arg_unsigned(const struct spec *sp, va_list *ap)
{
	if (sp->length >= 1)
		return sp->length == 1 ? va_arg(*ap, unsigned long)
				       : va_arg(*ap, unsigned long long);
	return va_arg(*ap, unsigned int);
}

static int64_t arg_signed(const struct spec *sp, va_list *ap)
{
	if (sp->length >= 1)
		return sp->length == 1 ? va_arg(*ap, long) : va_arg(*ap, long long);
	return va_arg(*ap, int);
}

static void convert(struct out *o, char c, const struct spec *sp, va_list *ap)
{
	int64_t sv;

	switch (c) {
	case 'd':
	case 'i':
		sv = arg_signed(sp, ap);
		put_number(o, sp, sv < 0 ? -(uint64_t)sv : (uint64_t)sv, sv < 0, 10, false, "");
		break;
	case 'u':
		put_number(o, sp, arg_unsigned(sp, ap), false, 10, false, "");
		break;
	case 'x':
	case 'X':
		put_number(o, sp, arg_unsigned(sp, ap), false, 16, c == 'X', "");
		break;
	case 'o':
		put_number(o, sp, arg_unsigned(sp, ap), false, 8, false, "");
		break;
	case 'p':
		put_number(o, sp, (uintptr_t)va_arg(*ap, void *), false, 16, false, "0x");
		break;
	case 'c':
		put(o, (char)va_arg(*ap, int));
		break;
	case 's':
		put_string(o, sp, va_arg(*ap, const char *));
		break;
	default:
		put(o, '%');
		if (c)
			put(o, c);
		break;
	}
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = {.buf = buf, .size = size};
	va_list args;

	va_copy(args, ap);
	for (const char *f = fmt; *f; f++) {
		struct spec sp;

		if (*f != '%') {
			put(&o, *f);
			continue;
		}
		if (f[1] == '%') {
			put(&o, '%');
			f++;
			continue;
		}
		f = parse_spec(f + 1, &sp, &args);
		convert(&o, *f, &sp, &args);
		if (*f == '\0')
			break;
	}
	va_end(args);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/* Output: ground-truth lines on stdout and one-line errors on stderr. */
#include "daxload.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *g_cmd = "daxload";

static void out_append(struct out *o, const char *fmt, va_list ap)
{
	size_t room = sizeof(o->buf) - o->len;
	int n = vsnprintf(o->buf + o->len, room, fmt, ap);

	if (n < 0 || (size_t)n >= room) {
		/* Keep the line well-formed: drop the partial field. */
		o->buf[o->len] = '\0';
		o->overflow = true;
		return;
	}
	o->len += (size_t)n;
}

static void out_raw(struct out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	out_append(o, fmt, ap);
	va_end(ap);
}

/* pid= is taken here, at line time, so forked children report their own. */
void out_begin(struct out *o, const char *op, const char *event)
{
	o->len = 0;
	o->overflow = false;
	o->buf[0] = '\0';
	out_raw(o, "DAXLOAD op=%s", op);
	if (event)
		out_raw(o, " event=%s", event);
	out_raw(o, " pid=%d", (int)getpid());
}

void out_kv(struct out *o, const char *key, const char *fmt, ...)
{
	va_list ap;

	out_raw(o, " %s=", key);
	va_start(ap, fmt);
	out_append(o, fmt, ap);
	va_end(ap);
}

/* Values never contain spaces: bytes <= 0x20, >= 0x7f and '%' become %XX
 * (URL percent-encoding), so a path decodes with any URL unquote. */
void escape_value(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t j = 0;

	if (!outlen)
		return;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		bool esc = *p <= 0x20 || *p >= 0x7f || *p == '%';

		if (j + (esc ? 3 : 1) >= outlen)
			break;
		if (esc) {
			out[j++] = '%';
			out[j++] = hex[*p >> 4];
			out[j++] = hex[*p & 15];
		} else {
			out[j++] = (char)*p;
		}
	}
	out[j] = '\0';
}

void out_str(struct out *o, const char *key, const char *raw)
{
	char esc[3 * 4096 + 1];

	escape_value(raw && *raw ? raw : "-", esc, sizeof(esc));
	out_kv(o, key, "%s", esc);
}

/* Milliseconds with microsecond resolution: 12.345 */
void out_ms(struct out *o, const char *key, uint64_t ns)
{
	uint64_t us = ns / 1000;

	out_kv(o, key, "%llu.%03llu", (unsigned long long)(us / 1000),
	       (unsigned long long)(us % 1000));
}

void out_file(struct out *o, const struct dfile *f)
{
	out_kv(o, "dev", "%u:%u", f->dev_major, f->dev_minor);
	out_kv(o, "ino", "%llu", (unsigned long long)f->ino);
	out_str(o, "file", f->path);
	out_kv(o, "dax", "%d", f->dax);
}

void out_emit(struct out *o)
{
	if (o->overflow)
		out_raw(o, " truncated=1");
	if (o->len + 1 >= sizeof(o->buf))
		o->len = sizeof(o->buf) - 2;
	o->buf[o->len++] = '\n';
	/* Direct write: one syscall per line, nothing buffered across fork. */
	if (write_full(STDOUT_FILENO, o->buf, o->len) < 0 && errno != EPIPE)
		perror("daxload: write stdout");
	o->len = 0;
}

void errmsg(const char *what, const char *fmt, ...)
{
	char buf[2048];
	int n;
	va_list ap;

	n = snprintf(buf, sizeof(buf), "daxload %s: %s: ", g_cmd, what);
	if (n < 0 || (size_t)n >= sizeof(buf))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(buf);
	buf[n++] = '\n';
	write_full(STDERR_FILENO, buf, (size_t)n);
}

static const char *hint_for(int err)
{
	switch (err) {
	case ENOSPC:
	case EDQUOT:
		return "the filesystem is full: free space or use a smaller --size/--pages";
	case EPERM:
	case EACCES:
		return "check permissions on the file and directory, or run as root";
	case ENOENT:
		return "check that the path exists (the directory must exist)";
	case EROFS:
		return "the filesystem is mounted read-only: remount rw or pick another path";
	case EOPNOTSUPP:
		return "the filesystem does not support this operation";
	case ENOMEM:
		return "not enough memory or address space: use fewer pages";
	case EINVAL:
		return "an argument was rejected by the kernel: check --offset/--size alignment";
	case EISDIR:
		return "give a regular file, not a directory";
	case EEXIST:
		return "remove the file first or pass --force";
	default:
		return "see the man page daxload(1)";
	}
}

void errsys(int err, const char *what)
{
	errmsg(what, "%s (%s); %s", strerror(err), errno_name(err), hint_for(err));
}

const char *errno_name(int err)
{
	switch (err) {
	case 0: return "OK";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case EXDEV: return "EXDEV";
	case ENODEV: return "ENODEV";
	case EISDIR: return "EISDIR";
	case EINVAL: return "EINVAL";
	case EFBIG: return "EFBIG";
	case ENOSPC: return "ENOSPC";
	case EROFS: return "EROFS";
	case EPIPE: return "EPIPE";
	case ETXTBSY: return "ETXTBSY";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EDQUOT: return "EDQUOT";
	case ETIMEDOUT: return "ETIMEDOUT";
	default: return "E?";
	}
}

/* system-host.c: the host system's pure parts (kernel/sha512.c, crypt.c, ustar.c, ramfs.c,
 * and the configuration record, common/hostcfg.c) built for the host with ASan and UBSan and driven line by line from
 * test/host/system.test.ts, which compares the answers with node:crypto, openssl passwd -6, tar
 * and partitions/config-record.ts. One command per line, one JSON answer per line:
 *   sha512 HEX                 {"sha512":HEX}
 *   crypt KEYHEX SETTING        {"hash":S} or {"error":1}
 *   load HEX                    a fresh filesystem, the archive loaded: {"ok":0|1,"log":S}
 *   cat PATH | ls PATH | stat PATH | rm PATH | mkdir PATH | write PATH HEX | append PATH HEX
 *   fuzz SEED N HEX             N mutations of the archive through ustar and the loader:
 *                               {"runs":N,"refused":K}; memory errors abort under ASan
 *   cfgenc SEQ TEXTHEX          {"rec":HEX}      cfgdec HEX   {"seq":N,"text":HEX} or {"valid":0}
 *   cfgparse TEXTHEX            {"applied":N,"text":S} (hostcfg_format after hostcfg_parse) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../kernel/system.h"
#include "hexio.h"

static char logbuf[65536];
static size_t loglen;

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

void kprintf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(logbuf + loglen, sizeof logbuf - loglen, fmt, ap);
	va_end(ap);
	if (n > 0)
		loglen += (size_t)n < sizeof logbuf - loglen ? (size_t)n : sizeof logbuf - loglen - 1;
}

void panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "panic: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

/* Pages from the C library, so ASan sees every byte past an allocation. */
void *page_alloc(size_t n)
{
	void *p = aligned_alloc(PAGE_SIZE, n * PAGE_SIZE);

	return p ? memset(p, 0, n * PAGE_SIZE) : NULL;
}

void page_free(void *p, size_t n)
{
	(void)n;
	free(p);
}

static uint64_t rng;
static uint64_t rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? rng % n : 0;
}

/* One damaged copy of `a`: flipped bytes, a cut, header fields made absurd, or ".." paths. */
static size_t mutate(const uint8_t *a, size_t n, uint8_t *out)
{
	size_t len = n;

	memcpy(out, a, n);
	switch (rnd(5)) {
	case 0:
		for (int i = 0, k = 1 + (int)rnd(8); i < k; i++)
			out[rnd(n)] ^= (uint8_t)(1 + rnd(255));
		break;
	case 1:
		len = rnd(n);
		break;
	case 2: {   /* an absurd or hostile size in a header, checksum fixed up so it is believed */
		size_t h = rnd(n / 512) * 512;
		const char *sizes[] = { "77777777777", "00000001000", "10000000000", "7777777777 ", "abc" };
		unsigned sum = 0;
		const char *sz = sizes[rnd(5)];
		memset(out + h + 124, 0, 12);
		memcpy(out + h + 124, sz, strlen(sz));
		memset(out + h + 148, ' ', 8);
		for (int i = 0; i < 512; i++)
			sum += out[h + i];
		snprintf((char *)out + h + 148, 8, "%06o", sum);
		break;
	}
	case 3: {   /* a traversal path with a valid checksum */
		size_t h = rnd(n / 512) * 512;
		const char *paths[] = { "../../etc/passwd", "etc/../../x", "/..", "a/./../b", "..", "./" };
		unsigned sum = 0;
		memset(out + h, 0, 100);
		strcpy((char *)out + h, paths[rnd(6)]);
		memset(out + h + 148, ' ', 8);
		for (int i = 0; i < 512; i++)
			sum += out[h + i];
		snprintf((char *)out + h + 148, 8, "%06o", sum);
		break;
	}
	default:
		len = n - rnd(1024 < n ? 1024 : n);
		for (int i = 0, k = (int)rnd(4); i < k; i++)
			out[rnd(len ? len : 1)] = (uint8_t)rnd(256);
		break;
	}
	return len;
}

int main(void)
{
	static char line[1 << 22];
	static uint8_t buf[1 << 21], work[1 << 21];

	fs_init();
	while (fgets(line, sizeof line, stdin)) {
		char *cmd = strtok(line, " \n"), *a1 = strtok(NULL, " \n"), *a2 = strtok(NULL, " \n"), *a3 = strtok(NULL, " \n");
		struct fs_stat st;

		if (!cmd)
			continue;
		loglen = 0;
		logbuf[0] = 0;
		if (!strcmp(cmd, "sha512") && a1) {
			struct sha512 c;
			uint8_t d[64];
			size_t n = unhex(a1, buf, sizeof buf);
			sha512_init(&c);
			/* Two updates at an odd split, to exercise the buffering. */
			sha512_update(&c, buf, n / 3);
			sha512_update(&c, buf + n / 3, n - n / 3);
			sha512_final(&c, d);
			printf("{\"sha512\":\"");
			hex(d, 64);
			printf("\"}\n");
		} else if (!strcmp(cmd, "crypt") && a1 && a2) {
			char key[4096], out[CRYPT_MAX];
			size_t n = unhex(a1, (uint8_t *)key, sizeof key - 1);
			key[n] = 0;
			if (crypt_sha512(key, a2, out) < 0)
				printf("{\"error\":1}\n");
			else
				printf("{\"hash\":\"%s\"}\n", out);
		} else if (!strcmp(cmd, "load") && a1) {
			size_t n = unhex(a1, buf, sizeof buf);
			fs_init();
			int r = fs_load_archive("test.tar", buf, n);
			printf("{\"ok\":%d,\"log\":", r == 0);
			json_bytes(logbuf, loglen);
			printf("}\n");
		} else if (!strcmp(cmd, "cat") && a1) {
			int64_t n = fs_read_file(a1, (char *)buf, sizeof buf);
			if (n < 0) {
				printf("{\"error\":1}\n");
			} else {
				printf("{\"data\":\"");
				hex(buf, (size_t)n);
				printf("\"}\n");
			}
		} else if (!strcmp(cmd, "ls") && a1) {
			printf("{\"entries\":[");
			for (int i = 0; fs_readdir(a1, i, &st) == 0; i++) {
				printf("%s{\"name\":", i ? "," : "");
				json_bytes(st.name, strlen(st.name));
				printf(",\"dir\":%d,\"size\":%llu}", !!(st.mode & S_IFDIR), (unsigned long long)st.size);
			}
			printf("]}\n");
		} else if (!strcmp(cmd, "stat") && a1) {
			if (fs_stat(a1, &st) < 0)
				printf("{\"error\":1}\n");
			else
				printf("{\"dir\":%d,\"perm\":%u,\"size\":%llu}\n", !!(st.mode & S_IFDIR), st.mode & 07777,
				       (unsigned long long)st.size);
		} else if (!strcmp(cmd, "rm") && a1) {
			printf("{\"r\":%d}\n", fs_unlink(a1));
		} else if (!strcmp(cmd, "mkdir") && a1) {
			printf("{\"r\":%d}\n", fs_mkdir(a1));
		} else if ((!strcmp(cmd, "write") || !strcmp(cmd, "append")) && a1 && a2) {
			size_t n = unhex(a2, buf, sizeof buf);
			int r = !strcmp(cmd, "write") ? fs_write_file(a1, buf, n, 0644) : fs_append_file(a1, buf, n);
			printf("{\"r\":%d}\n", r);
		} else if (!strcmp(cmd, "openclose") && a1) {
			/* An open file cannot be unlinked; closing twice fails the second time. */
			int fd = fs_open(a1, O_RDONLY);
			int rm_open = fs_unlink(a1), c1 = fs_close(fd), c2 = fs_close(fd);
			printf("{\"fd\":%d,\"rm_open\":%d,\"close1\":%d,\"close2\":%d}\n", fd, rm_open, c1, c2);
		} else if (!strcmp(cmd, "fuzz") && a1 && a2 && a3) {
			size_t n = unhex(a3, buf, sizeof buf);
			long runs = atol(a2), refused = 0;
			rng = strtoull(a1, NULL, 10) | 1;
			for (long i = 0; i < runs; i++) {
				size_t len = mutate(buf, n, work);
				/* The copy is exactly as long as the mutation, so reading past it is an ASan error. */
				uint8_t *exact = malloc(len ? len : 1);
				memcpy(exact, work, len);
				fs_init();
				loglen = 0;
				refused += fs_load_archive("fuzz.tar", exact, len) < 0;
				free(exact);
			}
			printf("{\"runs\":%ld,\"refused\":%ld}\n", runs, refused);
		} else if (!strcmp(cmd, "cfgenc") && a1 && a2) {
			size_t n = unhex(a2, buf, sizeof buf);
			size_t len = hostcfg_encode((uint32_t)strtoul(a1, NULL, 10), (const char *)buf, (uint32_t)n, work, 4096);
			printf("{\"rec\":\"");
			hex(work, len);
			printf("\"}\n");
		} else if (!strcmp(cmd, "cfgdec") && a1) {
			size_t n = unhex(a1, buf, sizeof buf);
			uint32_t seq, tl;
			const char *text;
			uint8_t *exact = malloc(n ? n : 1);
			memcpy(exact, buf, n);
			char err[160];
			if (hostcfg_decode(exact, n, &seq, &text, &tl, err, sizeof err) < 0) {
				printf("{\"valid\":0}\n");
			} else {
				printf("{\"valid\":1,\"seq\":%u,\"text\":\"", seq);
				hex((const uint8_t *)text, tl);
				printf("\"}\n");
			}
			free(exact);
		} else if (!strcmp(cmd, "cfgparse") && a1) {
			size_t n = unhex(a1, buf, sizeof buf);
			char out[32768];
			static struct hostcfg c;
			char err[160];
			int r = hostcfg_parse(&c, (const char *)buf, n, NULL, NULL, err, sizeof err);
			int f = hostcfg_format(&c, out, sizeof out);
			printf("{\"applied\":%d,\"text\":", r);
			json_bytes(out, f < 0 ? 0 : (size_t)f);
			printf("}\n");
		} else {
			printf("{\"unknown\":1}\n");
		}
		fflush(stdout);
	}
	return 0;
}

/*
 * replay.c - runs a libFuzzer target without libFuzzer.
 *
 * Linked with a fuzz_<name>.c in place of -fsanitize=fuzzer so that
 * `meson test` replays the corpus on every build. Each argument is a file or
 * a directory (not recursive); every regular file is read whole and handed to
 * LLVMFuzzerTestOneInput once. Exits 0 when every input ran, 1 when an
 * argument could not be read or nothing was run.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads path whole and runs it; 0, or -1 with a message on stderr. */
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    int rc = -1;

    if (f == NULL) {
        fprintf(stderr, "replay: cannot open '%s'\n", path);
        return -1;
    }
    for (;;) {
        size_t n;

        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            uint8_t *nbuf = realloc(buf, ncap);

            if (nbuf == NULL) {
                fprintf(stderr, "replay: '%s': out of memory\n", path);
                goto error;
            }
            buf = nbuf;
            cap = ncap;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        fprintf(stderr, "replay: cannot read '%s'\n", path);
        goto error;
    }
    {
        /* An exact-size copy, so a sanitizer sees any over-read. */
        uint8_t *exact = malloc(len > 0 ? len : 1);

        if (exact == NULL) {
            fprintf(stderr, "replay: '%s': out of memory\n", path);
            goto error;
        }
        if (len > 0)
            memcpy(exact, buf, len);
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
    }
    rc = 0;
error:
    free(buf);
    fclose(f);
    return rc;
}

/* Runs a file, or every regular file in a directory; counts inputs run. */
static int run_path(const char *path, unsigned *count /* OUT */)
{
    struct stat st;
    DIR *dir;
    struct dirent *de;
    int rc = 0;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: cannot stat '%s'\n", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (run_file(path) != 0)
            return -1;
        (*count)++;
        return 0;
    }
    dir = opendir(path);
    if (dir == NULL) {
        fprintf(stderr, "replay: cannot open directory '%s'\n", path);
        return -1;
    }
    while ((de = readdir(dir)) != NULL) {
        char child[4096];
        int n = snprintf(child, sizeof(child), "%s/%s", path, de->d_name);

        if (de->d_name[0] == '.')
            continue;
        if (n < 0 || (size_t)n >= sizeof(child)) {
            fprintf(stderr, "replay: path too long in '%s'\n", path);
            rc = -1;
            continue;
        }
        if (stat(child, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (run_file(child) != 0)
            rc = -1;
        else
            (*count)++;
    }
    closedir(dir);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned count = 0;
    int failed = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
        return 1;
    }
    for (int i = 1; i < argc; i++)
        if (run_path(argv[i], &count) != 0)
            failed = 1;
    printf("replayed %u inputs\n", count);
    return failed || count == 0 ? 1 : 0;
}

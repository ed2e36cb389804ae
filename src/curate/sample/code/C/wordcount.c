#include <ctype.h>
#include <stdio.h>

int main(int argc, char **argv) {
    FILE *fp = argc > 1 ? fopen(argv[1], "r") : stdin;
    if (!fp) { perror("fopen"); return 1; }
    long lines = 0, words = 0, chars = 0;
    int c, in_word = 0;
    while ((c = fgetc(fp)) != EOF) {
        chars++;
        if (c == '\n') lines++;
        if (isspace(c)) in_word = 0;
        else if (!in_word) { in_word = 1; words++; }
    }
    printf("%ld %ld %ld\n", lines, words, chars);
    if (fp != stdin) fclose(fp);
    return 0;
}

#include <ctype.h>
#include <stdio.h>
#include "words.h"

int main(void) {
    for (const char *c = greeting(); *c; c++) putchar(toupper((unsigned char)*c));
    printf("!\n");
    return 0;
}

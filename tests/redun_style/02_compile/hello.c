#include <stdio.h>
#include "words.h"

int main(void) {
    printf("%s, world\n", greeting());
    return 0;
}

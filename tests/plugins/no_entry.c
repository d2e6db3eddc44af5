/* A shared library that is not a streams plugin: no entry symbol. */
__attribute__((visibility("default"))) int some_other_function(void) { return 42; }

// A shared library that is not a taskpool plugin: it has no
// taskpool_plugin_entry symbol.
extern "C" int not_a_plugin_function() { return 42; }

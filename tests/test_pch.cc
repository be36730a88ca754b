// Intentionally empty: the taskpool_test_pch target exists only to build the
// precompiled header that every test binary reuses (tests/CMakeLists.txt).
// gtest_main supplies main(), so it links; it is never run.

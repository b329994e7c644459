// Placeholder translation unit until the suites module's first sources land.
namespace medsyn::suites { int module_marker = 0; }

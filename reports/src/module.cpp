// Placeholder translation unit until the reports module's first sources land.
namespace medsyn::reports { int module_marker = 0; }

// Placeholder translation unit until the metrics module's first sources land.
namespace medsyn::metrics { int module_marker = 0; }

// Placeholder translation unit until the downstream module's first sources land.
namespace medsyn::downstream { int module_marker = 0; }

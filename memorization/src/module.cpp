// Placeholder translation unit until the memorization module's first sources land.
namespace medsyn::memorization { int module_marker = 0; }

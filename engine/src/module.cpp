// Placeholder translation unit until the engine module's first sources land.
namespace medsyn::engine { int module_marker = 0; }

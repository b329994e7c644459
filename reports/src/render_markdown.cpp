// report.md from the report document: blocks separated by one blank line; GitHub-flavoured tables.
#include <algorithm>
#include <string>

#include "medsyn/reports/report_model.h"

namespace medsyn::reports {

namespace {

// Every string from results.json passes here: characters with a Markdown meaning are
// backslash-escaped (CommonMark allows it before any ASCII punctuation) and line breaks become
// spaces, so no label, provenance field or note can end a table row, open a link, emphasis, an HTML
// tag or a new block.
std::string md_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n' || c == '\r') {
      out += ' ';
      continue;
    }
    if (c == '|' || c == '*' || c == '_' || c == '`' || c == '[' || c == ']' || c == '<' || c == '>' || c == '\\' || c == '~' ||
        c == '&')
      out += '\\';
    out += c;
  }
  return out;
}

// Code span: a fence longer than any backtick run inside (CommonMark), content on one line.
std::string md_code(const std::string& s) {
  std::string flat;
  std::size_t run = 0, longest = 0;
  for (char c : s) {
    flat += (c == '\n' || c == '\r') ? ' ' : c;
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  if (longest == 0) return "`" + flat + "`";
  const std::string fence(longest + 1, '`');
  return fence + " " + flat + " " + fence;
}

std::string md(const Text& t) {
  std::string out;
  for (const auto& sp : t.spans) {
    switch (sp.kind) {
      case Span::Kind::plain: out += md_escape(sp.text); break;
      case Span::Kind::code: out += md_code(sp.text); break;
      case Span::Kind::sub: out += "_" + md_escape(sp.text); break;  // intraword '_' is literal
      case Span::Kind::symbol:
        switch (sp.sym) {
          case Sym::down: out += "↓"; break;
          case Sym::up: out += "↑"; break;
          case Sym::near: out += "≈"; break;
          case Sym::times: out += "×"; break;
          case Sym::sum: out += "sum"; break;
        }
        break;
    }
  }
  return out;
}

std::string cell_text(const Cell& c) {
  std::string v = md(c.text);
  if (c.null_reason) v = "*" + v + "*";
  if (c.best) v = "**" + v + "**";
  if (!c.interval.empty()) v += (v.empty() ? "" : " ") + c.interval + (c.mark_level ? " (" + level_percent(c.level) + ")" : "");
  return v;
}

std::string row_label(const Row& row) {
  if (row.style != Row::Style::normal) return "*" + md(row.label) + "*";
  return md(row.label) + (row.tag.empty() ? "" : " (" + md_escape(row.tag) + ")");
}

std::string table_text(const Table& t, const RowGroup& g) {
  std::string s = "|";
  for (const auto& h : t.header) s += " " + md(h) + " |";
  s += "\n|";
  for (std::size_t i = 0; i < t.header.size(); ++i) s += "---|";
  s += "\n";
  for (const auto& row : g.rows) {
    s += "| " + row_label(row) + " |";
    for (const auto& c : row.cells) s += " " + cell_text(c) + " |";
    s += "\n";
  }
  return s;
}

}  // namespace

std::string render_markdown(const Document& d) {
  std::vector<std::string> blocks;  // each ends with '\n'; joined by one blank line
  blocks.push_back("# " + md(d.title) + "\n");
  std::string meta;
  for (const auto& m : d.meta) meta += "- " + md(m.label) + ": " + md(m.value) + "\n";
  blocks.push_back(meta);
  for (const auto& sec : d.sections) {
    blocks.push_back("## " + md(sec.title) + "\n");
    for (const auto& b : sec.blocks) {
      if (const auto* p = std::get_if<Paragraph>(&b)) blocks.push_back(md(p->text) + "\n");
      else if (const auto* h = std::get_if<Heading>(&b)) blocks.push_back("### " + md(h->text) + "\n");
      else if (const auto* l = std::get_if<List>(&b)) {
        std::string s;
        for (const auto& it : l->items) s += "- " + md(it) + "\n";
        blocks.push_back(s);
      } else if (const auto* f = std::get_if<FigureBlock>(&b)) {
        blocks.push_back("![" + md_escape(f->figure.title) + "](" + f->figure.file + ")\n");
        if (!f->figure.caption.empty()) blocks.push_back(md_escape(f->figure.caption) + "\n");
      } else if (const auto* t = std::get_if<Table>(&b)) {
        for (const auto& g : t->groups) {
          if (!g.title.empty()) blocks.push_back("### " + md(g.title) + "\n");
          blocks.push_back(table_text(*t, g));
        }
      }
    }
  }
  std::string out;
  for (std::size_t i = 0; i < blocks.size(); ++i) out += (i ? "\n" : "") + blocks[i];
  return out;
}

}  // namespace medsyn::reports

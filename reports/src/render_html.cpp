// index.html from the report document: self-contained (inline CSS, every figure as a
// data:image/png;base64 URI, no scripts, no external resources).
#include <sstream>

#include "medsyn/core/text_encoding.h"
#include "medsyn/core/fs.h"
#include "medsyn/reports/report_model.h"

namespace medsyn::reports {

namespace {

std::string html(const Text& t) {
  std::string out;
  for (const auto& sp : t.spans) {
    switch (sp.kind) {
      case Span::Kind::plain: out += html_escape(sp.text); break;
      case Span::Kind::code: out += "<code>" + html_escape(sp.text) + "</code>"; break;
      case Span::Kind::sub: out += "<sub>" + html_escape(sp.text) + "</sub>"; break;
      case Span::Kind::symbol:
        switch (sp.sym) {
          case Sym::down: out += "&darr;"; break;
          case Sym::up: out += "&uarr;"; break;
          case Sym::near: out += "&asymp;"; break;
          case Sym::times: out += "&times;"; break;
          case Sym::sum: out += "&sum;"; break;
        }
        break;
    }
  }
  return out;
}

std::string cell_html(const Cell& c) {
  std::string v = html(c.text);
  if (c.null_reason) v = "<em>" + v + "</em>";
  if (!c.interval.empty())
    v += "<span class=\"ci\">" + c.interval + (c.mark_level ? " (" + level_percent(c.level) + ")" : "") + "</span>";
  return std::string("<td") + (c.best ? " class=\"best\"" : "") + ">" + v + "</td>";
}

void table_html(std::ostringstream& os, const Table& t) {
  for (const auto& g : t.groups) {
    if (!g.title.empty()) os << "<h3>" << html(g.title) << "</h3>\n";
    os << "<table><thead><tr>";
    for (const auto& h : t.header) os << "<th>" << html(h) << "</th>";
    os << "</tr></thead><tbody>\n";
    for (const auto& row : g.rows) {
      os << "<tr" << (row.style == Row::Style::reference ? " class=\"ref\"" : row.style == Row::Style::ratio ? " class=\"ratio\"" : "")
         << "><td>" << html(row.label) << (row.tag.empty() ? "" : " (" + html_escape(row.tag) + ")") << "</td>";
      for (const auto& c : row.cells) os << cell_html(c);
      os << "</tr>\n";
    }
    os << "</tbody></table>\n";
  }
}

}  // namespace

std::string render_html(const Document& d, const std::filesystem::path& out_dir) {
  std::ostringstream os;
  os << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
     << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
     << "<title>" << html(d.title) << "</title>\n<style>\n"
     << "body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:0 auto;max-width:1180px;padding:24px;color:#222;line-height:1.45}\n"
     << "h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}\n"
     << "table{border-collapse:collapse;margin:.8em 0;font-size:.92em}th,td{padding:4px 10px;text-align:right;border-bottom:1px solid #e4e4e4}\n"
     << "th:first-child,td:first-child{text-align:left}thead th{border-bottom:2px solid #444}tbody tr:last-child td{border-bottom:2px solid #444}\n"
     << "td.best{font-weight:700}span.ci{color:#666;font-size:.85em;margin-left:.3em}tr.ref td{font-style:italic;color:#555}\n"
     << "tr.ratio td{font-style:italic;border-top:1px solid #999}figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}\n"
     << "figcaption{color:#555;font-size:.9em}.meta td{text-align:left}.notes li{color:#7a4b00}code{background:#f4f4f4;padding:1px 4px}\n"
     << "</style>\n</head>\n<body>\n"
     << "<h1>" << html(d.title) << "</h1>\n"
     << "<table class=\"meta\"><tbody>\n";
  for (const auto& m : d.meta) os << "<tr><td>" << html(m.label) << "</td><td>" << html(m.value) << "</td></tr>\n";
  os << "</tbody></table>\n";
  for (const auto& sec : d.sections) {
    os << "<h2>" << html(sec.title) << "</h2>\n";
    for (const auto& b : sec.blocks) {
      if (const auto* p = std::get_if<Paragraph>(&b)) os << "<p>" << html(p->text) << "</p>\n";
      else if (const auto* h = std::get_if<Heading>(&b)) os << "<h3>" << html(h->text) << "</h3>\n";
      else if (const auto* l = std::get_if<List>(&b)) {
        os << "<ul" << (l->style.empty() ? "" : " class=\"" + html_escape(l->style) + "\"") << ">\n";
        for (const auto& it : l->items) os << "<li>" << html(it) << "</li>\n";
        os << "</ul>\n";
      } else if (const auto* f = std::get_if<FigureBlock>(&b)) {
        const auto& fig = f->figure;
        os << "<figure><img alt=\"" << html_escape(fig.title) << "\" src=\"data:image/png;base64," << base64(read_file_bytes(out_dir / fig.file))
           << "\"><figcaption>" << html_escape(fig.title) << (fig.caption.empty() ? "" : ". " + html_escape(fig.caption))
           << "</figcaption></figure>\n";
      } else if (const auto* t = std::get_if<Table>(&b)) {
        table_html(os, *t);
      }
    }
  }
  os << "</body>\n</html>\n";
  return os.str();
}

}  // namespace medsyn::reports

#include "report/report_index.h"

#include <fmt/format.h>

#include "report/heatmap_html.h"

namespace distgru::report {

std::string render_report_index(const std::string& title,
                                const std::vector<std::pair<std::string, std::string>>& facts,
                                const std::vector<Figure>& figures) {
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
      "charset=\"utf-8\">\n<title>{0}</title>\n<style>\n"
      "body {{ font: 16px/1.5 system-ui, 'DejaVu Sans', sans-serif; color: #111; background: "
      "#fafafa;"
      " margin: 0 auto; max-width: 60rem; padding: 1rem 1.5rem; }}\n"
      "table {{ border-collapse: collapse; margin: 1rem 0; background: #fff; }}\n"
      "th, td {{ border: 1px solid #ccc; padding: .3rem .8rem; text-align: left; }}\n"
      "td {{ font-variant-numeric: tabular-nums; }}\n"
      "figure {{ background: #fff; border: 1px solid #ccc; border-radius: 6px; margin: 1rem 0; "
      "padding: .8rem; }}\n"
      "img {{ max-width: 100%; height: auto; }}\nfigcaption {{ color: #333; }}\n"
      "</style>\n</head>\n<body>\n<h1>{0}</h1>\n<table>\n",
      html_escape(title));
  for (const auto& [name, value] : facts) {
    out += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", html_escape(name), html_escape(value));
  }
  out += "</table>\n";
  for (const auto& f : figures) {
    out +=
        fmt::format("<figure><img src=\"{0}\" alt=\"{1}\"><figcaption>{1}</figcaption></figure>\n",
                    html_escape(f.image), html_escape(f.caption));
  }
  return out + "</body>\n</html>\n";
}

}  // namespace distgru::report

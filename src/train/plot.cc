// A dependency-free SVG line plot of train.csv: training loss (thin) and
// validation loss (points joined), loss on y, step on x.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <vector>

#include "io/error.h"
#include "train/trainer.h"

namespace whale {

void WriteLossPlot(const std::string& csv_path, const std::string& svg_path, const std::string& title) {
  std::ifstream in(csv_path);
  if (!in) throw Error(csv_path + ": cannot open");
  std::string line;
  std::getline(in, line);  // header: step,loss,main_loss,...,val_loss (column 5)
  std::vector<std::pair<double, double>> train, val;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string x;
    while (std::getline(ss, x, ',')) f.push_back(x);
    if (f.size() < 6) continue;
    train.push_back({std::stod(f[0]), std::stod(f[2])});
    if (!f[5].empty()) val.push_back({std::stod(f[0]), std::stod(f[5])});
  }
  if (train.empty()) return;
  double x1 = train.back().first, y0 = 1e30, y1 = -1e30;
  for (auto* s : {&train, &val})
    for (auto& [sx, sy] : *s) y0 = std::min(y0, sy), y1 = std::max(y1, sy);
  y0 = std::floor(y0 * 2) / 2, y1 = std::ceil(y1 * 2) / 2;
  if (y1 <= y0) y1 = y0 + 1;
  const double W = 720, H = 420, L = 60, R = 20, T = 40, B = 50;
  auto px = [&](double v) { return L + (W - L - R) * v / std::max(1.0, x1); };
  auto py = [&](double v) { return T + (H - T - B) * (1 - (v - y0) / (y1 - y0)); };
  std::ostringstream o;
  o << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H
    << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' fill='white'/>\n";
  o << "<text x='" << L << "' y='22' font-size='14'>" << title << "</text>\n";
  for (int i = 0; i <= 5; ++i) {
    const double v = y0 + (y1 - y0) * i / 5;
    o << "<line x1='" << L << "' x2='" << W - R << "' y1='" << py(v) << "' y2='" << py(v) << "' stroke='#eee'/>";
    o << "<text x='" << L - 6 << "' y='" << py(v) + 4 << "' text-anchor='end'>" << std::round(v * 100) / 100 << "</text>\n";
    const double s = x1 * i / 5;
    o << "<text x='" << px(s) << "' y='" << H - B + 18 << "' text-anchor='middle'>" << std::llround(s) << "</text>\n";
  }
  o << "<text x='" << (W + L) / 2 << "' y='" << H - 12 << "' text-anchor='middle'>step</text>\n";
  o << "<text x='16' y='" << H / 2 << "' transform='rotate(-90 16 " << H / 2 << ")' text-anchor='middle'>loss (nats/token)</text>\n";
  auto poly = [&](const std::vector<std::pair<double, double>>& s, const char* color, double width) {
    o << "<polyline fill='none' stroke='" << color << "' stroke-width='" << width << "' points='";
    for (auto& [sx, sy] : s) o << px(sx) << "," << py(sy) << " ";
    o << "'/>\n";
  };
  poly(train, "#4a7bd0", 1);
  if (!val.empty()) {
    poly(val, "#d0542c", 2);
    for (auto& [sx, sy] : val) o << "<circle cx='" << px(sx) << "' cy='" << py(sy) << "' r='3' fill='#d0542c'/>";
  }
  o << "\n<text x='" << W - R - 150 << "' y='" << T + 14 << "' fill='#4a7bd0'>train</text>";
  o << "<text x='" << W - R - 80 << "' y='" << T + 14 << "' fill='#d0542c'>validation</text>\n</svg>\n";
  std::ofstream(svg_path) << o.str();
}

}  // namespace whale

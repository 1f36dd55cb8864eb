// leadrelay dashboard: the report pages' charts, drawn by the vendored Apache ECharts (SVG) from the
// plain specification each page embeds (see web/report_charts.py). Plain JavaScript, no build step.
// Colour is never the only signal: bars carry patterns (ECharts' decals), lines differ in dash and
// marker, every series is named in the legend, and the table under each chart holds its numbers.
(function () {
  "use strict";
  if (typeof echarts === "undefined") { return; }
  var lang = document.documentElement.lang === "ja" ? "ja-JP" : "en";
  var font = 'system-ui, -apple-system, "Segoe UI", "Noto Sans JP", "Noto Sans CJK JP", "Hiragino Sans", "Yu Gothic", sans-serif';
  // Okabe–Ito colours (distinguishable with the common colour-vision deficiencies)
  var palette = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#6c6c6c", "#f0e442"];
  var symbols = ["circle", "rect", "triangle", "diamond"];
  var number = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });

  function format(unit, value) {
    if (value === null || value === undefined || value === "-") { return "—"; }
    if (unit === "percent") { return number.format(value * 100) + " %"; }
    return number.format(value);
  }

  function option(spec) {
    var units = spec.axes.map(function (a) { return a.unit; });
    var category = { type: "category", data: spec.categories, axisLabel: { interval: 0, hideOverlap: true } };
    if (spec.horizontal) {
      category.inverse = true;
      category.axisLabel = { width: 256, overflow: "truncate", ellipsis: "…", interval: 0 };
    } else if (spec.categories.length > 8) {
      category.axisLabel.rotate = 40;
    }
    var values = spec.axes.map(function (axis, i) {
      return {
        type: "value",
        name: axis.name,
        nameLocation: spec.horizontal ? "middle" : "end",
        nameGap: spec.horizontal ? 30 : 12,
        nameTextStyle: { align: spec.horizontal ? "center" : (i === 0 ? "left" : "right") },
        min: 0,
        max: axis.unit === "percent" ? 1 : null,
        splitLine: { show: i === 0 },
        axisLabel: { formatter: function (v) { return format(axis.unit, v); } }
      };
    });
    var lines = 0;
    var series = spec.series.map(function (s) {
      var unit = units[s.axis] || "count";
      var out = {
        name: s.name,
        type: s.type,
        data: s.data,
        stack: s.stack || undefined,
        emphasis: { focus: "series" },
        tooltip: { valueFormatter: function (v) { return format(unit, v); } }
      };
      if (spec.horizontal) { out.xAxisIndex = s.axis; } else { out.yAxisIndex = s.axis; }
      if (s.type === "line") {
        out.symbol = symbols[lines % symbols.length];
        out.symbolSize = 9;
        out.connectNulls = false;
        out.lineStyle = { width: 3, type: s.dashed ? "dashed" : "solid" };
        lines += 1;
      } else {
        out.barMaxWidth = 48;
      }
      if (s.labels || (s.type === "bar" && !s.stack)) {
        out.label = {
          show: true,
          position: spec.horizontal ? "right" : "top",
          color: "#1b1f24",
          formatter: function (p) {
            return s.labels ? s.labels[p.dataIndex] : format(unit, p.value);
          }
        };
      }
      return out;
    });
    return {
      animation: false,
      color: palette,
      textStyle: { fontFamily: font, fontSize: 13, color: "#1b1f24" },
      aria: { enabled: true, label: { enabled: false }, decal: { show: true } },
      legend: { top: 0, type: "scroll", textStyle: { fontFamily: font } },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      // horizontal bars: a fixed margin for the category names (truncated with an ellipsis beyond it)
      grid: spec.horizontal
        ? { left: 276, right: 40, top: 56, bottom: 52, containLabel: false }
        : { left: 16, right: 24, top: 56, bottom: 16, containLabel: true },
      xAxis: spec.horizontal ? values : category,
      yAxis: spec.horizontal ? category : values,
      series: series
    };
  }

  var charts = [];
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var source = document.getElementById(el.getAttribute("data-chart"));
    if (!source) { return; }
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption(option(JSON.parse(source.textContent)));
    charts.push(chart);
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();

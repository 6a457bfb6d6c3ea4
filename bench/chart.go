package bench

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
)

// Chart geometry, in SVG user units.
const (
	chartWidth   = 760
	panelHeight  = 240
	marginLeft   = 64
	marginRight  = 24
	marginTop    = 36
	marginBottom = 40
)

// chartSeries is one line of a panel.
type chartSeries struct {
	name  string
	color string
	value func(SecondPoint) float64
}

var latencySeries = []chartSeries{
	{name: "p50", color: "#1f77b4", value: func(p SecondPoint) float64 { return p.P50 }},
	{name: "p99", color: "#d62728", value: func(p SecondPoint) float64 { return p.P99 }},
}

// WriteChart draws the latency over time of every result as an SVG: one
// panel per run, p50 and p99 of the operations that completed in each
// second, in milliseconds.
func (rep *Report) WriteChart(w io.Writer) error {
	b := bufio.NewWriter(w)
	n := max(len(rep.Results), 1)
	height := n * panelHeight
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n",
		chartWidth, height, chartWidth, height)
	fmt.Fprintf(b, `<rect x="0" y="0" width="%d" height="%d" fill="white"/>`+"\n", chartWidth, height)
	if len(rep.Results) == 0 {
		fmt.Fprintf(b, `<text x="%d" y="%d">no runs</text>`+"\n", marginLeft, marginTop)
	}
	for i, r := range rep.Results {
		title := fmt.Sprintf("%s, run %d: latency per second of completion (%s ops/s, p99 %.2f ms)",
			r.Scenario, r.Repeat, thousands(r.Throughput), r.Latency.P99)
		writePanel(b, i*panelHeight, title, r.Series)
	}
	b.WriteString("</svg>\n")
	return b.Flush()
}

func writePanel(b *bufio.Writer, top int, title string, pts []SecondPoint) {
	plotW := float64(chartWidth - marginLeft - marginRight)
	plotH := float64(panelHeight - marginTop - marginBottom)
	x0, y0 := float64(marginLeft), float64(top+marginTop)
	fmt.Fprintf(b, `<text x="%d" y="%d" font-size="13" font-weight="bold">%s</text>`+"\n", marginLeft, top+20, escapeXML(title))

	yMax := 0.0
	for _, p := range pts {
		for _, s := range latencySeries {
			yMax = math.Max(yMax, s.value(p))
		}
	}
	yTop, yStep := niceScale(yMax)
	xTop := max(len(pts), 1)
	xPos := func(sec float64) float64 { return x0 + plotW*sec/float64(xTop) }
	yPos := func(v float64) float64 { return y0 + plotH - plotH*v/yTop }

	// Axes and grid.
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#444"/>`+"\n", x0, y0, plotW, plotH)
	for v := 0.0; v <= yTop+yStep/2; v += yStep {
		y := yPos(v)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", x0, y, x0+plotW, y)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", x0-6, y+4, trimFloat(v))
	}
	xStep := niceStep(float64(xTop) / 10)
	for s := 0.0; s <= float64(xTop)+xStep/2; s += xStep {
		x := xPos(s)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#444"/>`+"\n", x, y0+plotH, x, y0+plotH+4)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x, y0+plotH+16, trimFloat(s))
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">seconds</text>`+"\n", x0+plotW/2, y0+plotH+32)
	fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="middle" transform="rotate(-90 %d %.1f)">ms</text>`+"\n",
		16, y0+plotH/2, 16, y0+plotH/2)

	for k, s := range latencySeries {
		var coords []string
		for _, p := range pts {
			if p.Completed == 0 {
				continue // no completion that second: no latency to draw
			}
			coords = append(coords, fmt.Sprintf("%.1f,%.1f", xPos(float64(p.Second)+0.5), yPos(s.value(p))))
		}
		if len(coords) > 0 {
			fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", s.color, strings.Join(coords, " "))
		}
		lx := x0 + plotW - 110 + float64(k)*55
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/>`+"\n", lx, y0+10, lx+16, y0+10, s.color)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", lx+20, y0+14, s.name)
	}
}

// niceScale returns an axis top at or above v and a round step for it.
func niceScale(v float64) (top, step float64) {
	if v <= 0 || math.IsNaN(v) {
		return 1, 0.2
	}
	step = niceStep(v / 5)
	return math.Ceil(v/step) * step, step
}

// niceStep rounds v up to 1, 2 or 5 times a power of ten.
func niceStep(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

func escapeXML(s string) string {
	var sb strings.Builder
	// EscapeText only fails on a failing writer; a Builder never fails.
	_ = xml.EscapeText(&sb, []byte(s))
	return sb.String()
}

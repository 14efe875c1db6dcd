package main

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// chartSeries is one line of the chart: a server's median at each x, with its min–max range.
type chartSeries struct {
	Name  string
	Color string
	Med   []float64 // NaN where missing
	Lo    []float64
	Hi    []float64
}

// seriesColors are assigned to servers in order: hearth first.
var seriesColors = []string{"#d9480f", "#1c7ed6", "#2f9e44", "#7048e8", "#868e96"}

// throughputChart draws aggregate decode tokens per second against concurrent clients, one line per
// server, with min–max whiskers, as a self-contained SVG.
func throughputChart(title string, clients []int, series []chartSeries) string {
	const w, h = 720, 420
	const left, right, top, bottom = 70, 170, 50, 60
	pw, ph := float64(w-left-right), float64(h-top-bottom)
	ymax := 0.0
	for _, s := range series {
		for _, v := range s.Hi {
			if !math.IsNaN(v) {
				ymax = math.Max(ymax, v)
			}
		}
	}
	step := niceStep(ymax / 5)
	ymax = math.Max(step, math.Ceil(ymax/step)*step)
	x := func(i int) float64 {
		if len(clients) == 1 {
			return left + pw/2
		}
		return left + pw*float64(i)/float64(len(clients)-1)
	}
	y := func(v float64) float64 { return top + ph*(1-v/ymax) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="28" font-size="15" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(title))
	for i := 0; float64(i)*step <= ymax+step/2; i++ {
		v := math.Round(float64(i)*step*1e6) / 1e6
		fmt.Fprintf(&b, `<line x1="%d" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#e9ecef"/>`+"\n", left, left+pw, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-8, y(v)+4, strconv.FormatFloat(v, 'f', -1, 64))
	}
	for i, c := range clients {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%d</text>`+"\n", x(i), top+ph+18, c)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">concurrent clients</text>`+"\n", left+pw/2, h-16)
	fmt.Fprintf(&b, `<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">aggregate tokens/s (median, min–max)</text>`+"\n", top+ph/2)
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%.1f" stroke="#495057"/>`+"\n", left, left, top, top+ph)
	fmt.Fprintf(&b, `<line x1="%d" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#495057"/>`+"\n", left, left+pw, top+ph, top+ph)

	for si, s := range series {
		var pts []string
		for i := range clients {
			if i >= len(s.Med) || math.IsNaN(s.Med[i]) {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(s.Med[i])))
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5"/>`+"\n",
				x(i), x(i), y(s.Lo[i]), y(s.Hi[i]), s.Color)
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"><title>%s, %d client(s): %s tok/s</title></circle>`+"\n",
				x(i), y(s.Med[i]), s.Color, html.EscapeString(s.Name), clients[i], formatValue(s.Med[i]))
		}
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2.5"/>`+"\n", strings.Join(pts, " "), s.Color)
		}
		ly := top + 10 + si*22
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", left+pw+20, left+pw+44, ly, ly, s.Color)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`+"\n", left+pw+50, ly+4, html.EscapeString(s.Name))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// niceStep rounds a raw axis step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

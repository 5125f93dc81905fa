package dev.vde.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.AxisLocation;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.plot.IntervalMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.Layer;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * Foreground latency over time: one chart per workload, stacked in one PNG. Each shows the p50, p99 and maximum
 * latency of the operations that started in each time bin (log scale, left) and the operations per second in
 * that bin (right), with the migration's span shaded. A bin in which no operation started leaves a gap.
 */
final class LatencyChart {
  /** One workload's operations: start times and latencies in nanoseconds, relative to the run's start. */
  record Panel(String title, long[] startNanos, long[] latencyNanos, double migrationStart, double migrationEnd,
      String migrationLabel) {}

  private static final int WIDTH = 1200;
  private static final int PANEL_HEIGHT = 380;

  private LatencyChart() {}

  static void render(Path png, String title, List<Panel> panels, double binSeconds) throws IOException {
    System.setProperty("java.awt.headless", "true");
    int titleHeight = 44;
    BufferedImage img = new BufferedImage(WIDTH, titleHeight + PANEL_HEIGHT * panels.size(),
        BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, img.getWidth(), img.getHeight());
    TextTitle t = new TextTitle(title, new Font("SansSerif", Font.BOLD, 17));
    t.draw(g, new Rectangle2D.Double(0, 8, WIDTH, titleHeight - 8));
    for (int i = 0; i < panels.size(); i++) {
      chart(panels.get(i), binSeconds).draw(g,
          new Rectangle2D.Double(0, titleHeight + i * PANEL_HEIGHT, WIDTH, PANEL_HEIGHT));
    }
    g.dispose();
    ImageIO.write(img, "png", png.toFile());
  }

  private static JFreeChart chart(Panel p, double bin) {
    XYSeries p50 = new XYSeries("p50 latency", true, true);
    XYSeries p99 = new XYSeries("p99 latency", true, true);
    XYSeries max = new XYSeries("max latency", true, true);
    XYSeries ops = new XYSeries("operations/s (right axis)", true, true);
    int n = p.startNanos().length;
    long lastBin = 0;
    for (int i = 0; i < n; i++) {
      lastBin = Math.max(lastBin, (long) (p.startNanos()[i] / 1e9 / bin));
    }
    int[] counts = new int[(int) lastBin + 1];
    for (int i = 0; i < n; i++) {
      counts[(int) (p.startNanos()[i] / 1e9 / bin)]++;
    }
    long[][] byBin = new long[counts.length][];
    for (int b = 0; b < counts.length; b++) {
      byBin[b] = new long[counts[b]];
    }
    int[] fill = new int[counts.length];
    for (int i = 0; i < n; i++) {
      int b = (int) (p.startNanos()[i] / 1e9 / bin);
      byBin[b][fill[b]++] = p.latencyNanos()[i];
    }
    for (int b = 0; b < byBin.length; b++) {
      double x = (b + 0.5) * bin;
      long[] lat = byBin[b];
      ops.add(x, lat.length / bin);
      if (lat.length == 0) {
        p50.add(x, null);
        p99.add(x, null);
        max.add(x, null);
        continue;
      }
      Arrays.sort(lat);
      p50.add(x, Math.max(1e-3, Stats.at(lat, 0.5) / 1e6));
      p99.add(x, Math.max(1e-3, Stats.at(lat, 0.99) / 1e6));
      max.add(x, Math.max(1e-3, lat[lat.length - 1] / 1e6));
    }
    XYSeriesCollection latency = new XYSeriesCollection();
    latency.addSeries(p50);
    latency.addSeries(p99);
    latency.addSeries(max);
    LogAxis y = new LogAxis("latency (ms, log scale)");
    y.setSmallestValue(1e-3);
    y.setTickUnit(new NumberTickUnit(1.0));
    y.setNumberFormatOverride(new java.text.DecimalFormat("0.###"));
    NumberAxis x = new NumberAxis("time since the foreground started (s)");
    XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, false);
    r.setSeriesPaint(0, new Color(0x1f, 0x77, 0xb4));
    r.setSeriesPaint(1, new Color(0xff, 0x7f, 0x0e));
    r.setSeriesPaint(2, new Color(0xd6, 0x27, 0x28, 120));
    r.setSeriesStroke(0, new BasicStroke(2.2f));
    r.setSeriesStroke(1, new BasicStroke(1.6f));
    r.setSeriesStroke(2, new BasicStroke(1f));
    XYPlot plot = new XYPlot(latency, x, y, r);
    XYSeriesCollection rate = new XYSeriesCollection(ops);
    NumberAxis y2 = new NumberAxis("operations/s");
    y2.setAutoRangeIncludesZero(true);
    plot.setDataset(1, rate);
    plot.setRangeAxis(1, y2);
    plot.setRangeAxisLocation(1, AxisLocation.BOTTOM_OR_RIGHT);
    plot.mapDatasetToRangeAxis(1, 1);
    XYLineAndShapeRenderer r2 = new XYLineAndShapeRenderer(true, false);
    r2.setSeriesPaint(0, new Color(0x55, 0x55, 0x55, 110));
    r2.setSeriesStroke(0, new BasicStroke(1.2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f,
        new float[] {4f, 3f}, 0f));
    plot.setRenderer(1, r2);
    plot.setBackgroundPaint(Color.WHITE);
    plot.setDomainGridlinePaint(new Color(0xdd, 0xdd, 0xdd));
    plot.setRangeGridlinePaint(new Color(0xdd, 0xdd, 0xdd));
    IntervalMarker m = new IntervalMarker(p.migrationStart(), p.migrationEnd());
    m.setPaint(new Color(0x2c, 0xa0, 0x2c, 45));
    m.setLabel(p.migrationLabel());
    m.setLabelFont(new Font("SansSerif", Font.PLAIN, 12));
    m.setLabelAnchor(RectangleAnchor.TOP_LEFT);
    m.setLabelTextAnchor(TextAnchor.TOP_LEFT);
    plot.addDomainMarker(m, Layer.BACKGROUND);
    JFreeChart c = new JFreeChart(p.title(), new Font("SansSerif", Font.BOLD, 14), plot, true);
    c.setBackgroundPaint(Color.WHITE);
    return c;
  }
}

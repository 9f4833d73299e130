import { describe, expect, it } from 'vitest';
import { diffBuckets, histogramQuantile, parseBuckets } from './histogram.js';

const scrape = (counts: number[], extra = '') => `# HELP chat_ws_connect_duration_seconds x
# TYPE chat_ws_connect_duration_seconds histogram
chat_ws_connect_duration_seconds_bucket{le="0.001"} ${counts[0]}
chat_ws_connect_duration_seconds_bucket{le="0.005"} ${counts[1]}
chat_ws_connect_duration_seconds_bucket{le="0.01"} ${counts[2]}
chat_ws_connect_duration_seconds_bucket{le="+Inf"} ${counts[3]}
chat_ws_connect_duration_seconds_sum 1
chat_ws_connect_duration_seconds_count ${counts[3]}
${extra}`;

describe('server-side quantiles from histogram snapshots', () => {
  it('interpolates inside the bucket like histogram_quantile', () => {
    const b = parseBuckets(scrape([50, 90, 100, 100]), 'chat_ws_connect_duration_seconds');
    expect(histogramQuantile(0.5, b)).toBeCloseTo(0.001);
    expect(histogramQuantile(0.7, b)).toBeCloseTo(0.001 + 0.004 * (20 / 40));
    expect(histogramQuantile(0.99, b)).toBeCloseTo(0.005 + 0.005 * (9 / 10));
  });

  it('measures only the phase between two snapshots', () => {
    const before = parseBuckets(scrape([0, 0, 0, 200]), 'chat_ws_connect_duration_seconds'); // a slow warm-up
    const after = parseBuckets(scrape([100, 100, 100, 300]), 'chat_ws_connect_duration_seconds');
    expect(histogramQuantile(0.99, diffBuckets(after, before))).toBeLessThanOrEqual(0.001);
  });

  it('reports the last finite bound when the quantile is in +Inf, and NaN with no data', () => {
    expect(histogramQuantile(0.99, parseBuckets(scrape([0, 0, 0, 10]), 'chat_ws_connect_duration_seconds'))).toBe(0.01);
    expect(histogramQuantile(0.99, parseBuckets(scrape([0, 0, 0, 0]), 'chat_ws_connect_duration_seconds'))).toBeNaN();
  });

  it('selects labelled series and sums across the others', () => {
    const text = 'h_bucket{result="ok",le="1"} 3\nh_bucket{result="ok",le="+Inf"} 4\nh_bucket{result="bad",le="1"} 10\nh_bucket{result="bad",le="+Inf"} 10\n';
    expect([...parseBuckets(text, 'h', { result: 'ok' })]).toEqual([[1, 3], [Infinity, 4]]);
    expect([...parseBuckets(text, 'h')]).toEqual([[1, 13], [Infinity, 14]]);
  });
});

//! Minimal PNG plotting: sample grids and line plots rendered into an RGB
//! buffer and encoded in memory with the `png` crate.
//!
//! Text uses a built-in 5x8 bitmap font (ASCII 32..=126) instead of a TTF so
//! the output is identical on every machine, needs no system fonts or font
//! files, and pulls in no rasteriser dependencies.
//!
//! Length: the file passes 800 lines only through its unit tests (`mod tests`, a quarter of it or
//! more), kept beside the code they check.

type Rgb = [u8; 3];

const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];
const GRID: Rgb = [225, 225, 225];
const FRAME: Rgb = [120, 120, 120];
/// Colour of the gaps between grid images; not a gray so it cannot be
/// mistaken for pixel data.
const GAP_COLOUR: Rgb = [70, 100, 160];
/// Gap (px) around and between images in the sample grid.
const GAP: usize = 2;
/// Matplotlib's "tab10" palette: distinct and colour-blind friendly enough.
const PALETTE: [Rgb; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];
const LINE_WIDTH: f64 = 2.0;

/// Glyph rows (top to bottom, bit 4 = leftmost column) for ASCII 32..=126.
/// Rows 0..=6 hold capitals and digits; row 7 is for descenders.
#[rustfmt::skip]
const FONT: [[u8; 8]; 95] = [
    [0, 0, 0, 0, 0, 0, 0, 0], // ' '
    [0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0, 0b00100, 0], // !
    [0b01010, 0b01010, 0b01010, 0, 0, 0, 0, 0], // "
    [0b01010, 0b01010, 0b11111, 0b01010, 0b11111, 0b01010, 0b01010, 0], // #
    [0b00100, 0b01111, 0b10100, 0b01110, 0b00101, 0b11110, 0b00100, 0], // $
    [0b11000, 0b11001, 0b00010, 0b00100, 0b01000, 0b10011, 0b00011, 0], // %
    [0b01100, 0b10010, 0b10100, 0b01000, 0b10101, 0b10010, 0b01101, 0], // &
    [0b00100, 0b00100, 0b01000, 0, 0, 0, 0, 0], // '
    [0b00010, 0b00100, 0b01000, 0b01000, 0b01000, 0b00100, 0b00010, 0], // (
    [0b01000, 0b00100, 0b00010, 0b00010, 0b00010, 0b00100, 0b01000, 0], // )
    [0, 0b00100, 0b10101, 0b01110, 0b10101, 0b00100, 0, 0], // *
    [0, 0b00100, 0b00100, 0b11111, 0b00100, 0b00100, 0, 0], // +
    [0, 0, 0, 0, 0, 0b01100, 0b00100, 0b01000], // ,
    [0, 0, 0, 0b11111, 0, 0, 0, 0], // -
    [0, 0, 0, 0, 0, 0b01100, 0b01100, 0], // .
    [0, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0, 0], // /
    [0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110, 0], // 0
    [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110, 0], // 1
    [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111, 0], // 2
    [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110, 0], // 3
    [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010, 0], // 4
    [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110, 0], // 5
    [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110, 0], // 6
    [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000, 0], // 7
    [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110, 0], // 8
    [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100, 0], // 9
    [0, 0b01100, 0b01100, 0, 0b01100, 0b01100, 0, 0], // :
    [0, 0b01100, 0b01100, 0, 0b01100, 0b00100, 0b01000, 0], // ;
    [0b00010, 0b00100, 0b01000, 0b10000, 0b01000, 0b00100, 0b00010, 0], // <
    [0, 0, 0b11111, 0, 0b11111, 0, 0, 0], // =
    [0b01000, 0b00100, 0b00010, 0b00001, 0b00010, 0b00100, 0b01000, 0], // >
    [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0, 0b00100, 0], // ?
    [0b01110, 0b10001, 0b00001, 0b01101, 0b10101, 0b10101, 0b01110, 0], // @
    [0b01110, 0b10001, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0], // A
    [0b11110, 0b10001, 0b10001, 0b11110, 0b10001, 0b10001, 0b11110, 0], // B
    [0b01110, 0b10001, 0b10000, 0b10000, 0b10000, 0b10001, 0b01110, 0], // C
    [0b11100, 0b10010, 0b10001, 0b10001, 0b10001, 0b10010, 0b11100, 0], // D
    [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111, 0], // E
    [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b10000, 0], // F
    [0b01110, 0b10001, 0b10000, 0b10111, 0b10001, 0b10001, 0b01111, 0], // G
    [0b10001, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001, 0], // H
    [0b01110, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110, 0], // I
    [0b00111, 0b00010, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100, 0], // J
    [0b10001, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0b10001, 0], // K
    [0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b11111, 0], // L
    [0b10001, 0b11011, 0b10101, 0b10101, 0b10001, 0b10001, 0b10001, 0], // M
    [0b10001, 0b10001, 0b11001, 0b10101, 0b10011, 0b10001, 0b10001, 0], // N
    [0b01110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110, 0], // O
    [0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000, 0b10000, 0], // P
    [0b01110, 0b10001, 0b10001, 0b10001, 0b10101, 0b10010, 0b01101, 0], // Q
    [0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001, 0], // R
    [0b01111, 0b10000, 0b10000, 0b01110, 0b00001, 0b00001, 0b11110, 0], // S
    [0b11111, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0], // T
    [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110, 0], // U
    [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100, 0], // V
    [0b10001, 0b10001, 0b10001, 0b10101, 0b10101, 0b10101, 0b01010, 0], // W
    [0b10001, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b10001, 0], // X
    [0b10001, 0b10001, 0b10001, 0b01010, 0b00100, 0b00100, 0b00100, 0], // Y
    [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b11111, 0], // Z
    [0b01110, 0b01000, 0b01000, 0b01000, 0b01000, 0b01000, 0b01110, 0], // [
    [0, 0b10000, 0b01000, 0b00100, 0b00010, 0b00001, 0, 0], // backslash
    [0b01110, 0b00010, 0b00010, 0b00010, 0b00010, 0b00010, 0b01110, 0], // ]
    [0b00100, 0b01010, 0b10001, 0, 0, 0, 0, 0], // ^
    [0, 0, 0, 0, 0, 0, 0, 0b11111], // _
    [0b01000, 0b00100, 0b00010, 0, 0, 0, 0, 0], // `
    [0, 0, 0b01110, 0b00001, 0b01111, 0b10001, 0b01111, 0], // a
    [0b10000, 0b10000, 0b10110, 0b11001, 0b10001, 0b10001, 0b11110, 0], // b
    [0, 0, 0b01110, 0b10000, 0b10000, 0b10001, 0b01110, 0], // c
    [0b00001, 0b00001, 0b01101, 0b10011, 0b10001, 0b10001, 0b01111, 0], // d
    [0, 0, 0b01110, 0b10001, 0b11111, 0b10000, 0b01110, 0], // e
    [0b00110, 0b01001, 0b01000, 0b11100, 0b01000, 0b01000, 0b01000, 0], // f
    [0, 0, 0b01111, 0b10001, 0b10001, 0b01111, 0b00001, 0b01110], // g
    [0b10000, 0b10000, 0b10110, 0b11001, 0b10001, 0b10001, 0b10001, 0], // h
    [0b00100, 0, 0b01100, 0b00100, 0b00100, 0b00100, 0b01110, 0], // i
    [0b00010, 0, 0b00110, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100], // j
    [0b10000, 0b10000, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0], // k
    [0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110, 0], // l
    [0, 0, 0b11010, 0b10101, 0b10101, 0b10001, 0b10001, 0], // m
    [0, 0, 0b10110, 0b11001, 0b10001, 0b10001, 0b10001, 0], // n
    [0, 0, 0b01110, 0b10001, 0b10001, 0b10001, 0b01110, 0], // o
    [0, 0, 0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000], // p
    [0, 0, 0b01111, 0b10001, 0b10001, 0b01111, 0b00001, 0b00001], // q
    [0, 0, 0b10110, 0b11001, 0b10000, 0b10000, 0b10000, 0], // r
    [0, 0, 0b01111, 0b10000, 0b01110, 0b00001, 0b11110, 0], // s
    [0b01000, 0b01000, 0b11100, 0b01000, 0b01000, 0b01001, 0b00110, 0], // t
    [0, 0, 0b10001, 0b10001, 0b10001, 0b10011, 0b01101, 0], // u
    [0, 0, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100, 0], // v
    [0, 0, 0b10001, 0b10001, 0b10101, 0b10101, 0b01010, 0], // w
    [0, 0, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0], // x
    [0, 0, 0b10001, 0b10001, 0b10001, 0b01111, 0b00001, 0b01110], // y
    [0, 0, 0b11111, 0b00010, 0b00100, 0b01000, 0b11111, 0], // z
    [0b00010, 0b00100, 0b00100, 0b01000, 0b00100, 0b00100, 0b00010, 0], // {
    [0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0], // |
    [0b01000, 0b00100, 0b00100, 0b00010, 0b00100, 0b00100, 0b01000, 0], // }
    [0, 0, 0b01000, 0b10101, 0b00010, 0, 0, 0], // ~
];

/// Glyph for `c`; characters outside printable ASCII render as '?'.
fn glyph(c: char) -> &'static [u8; 8] {
    let i = match c {
        ' '..='~' => c as usize - 32,
        _ => '?' as usize - 32,
    };
    &FONT[i]
}

/// Width in pixels of `s` at integer font scale `ts` (6 px advance, no
/// trailing spacing).
fn text_width(s: &str, ts: usize) -> usize {
    (s.chars().count() * 6 * ts).saturating_sub(ts)
}

/// Height of one text line including the descender row.
fn text_height(ts: usize) -> usize {
    8 * ts
}

/// RGB raster with clipped drawing primitives; coordinates are signed so
/// callers can draw partly off-canvas without checks.
struct Canvas {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

impl Canvas {
    fn new(w: usize, h: usize, bg: Rgb) -> Self {
        let (w, h) = (w.max(1), h.max(1));
        Canvas { w, h, px: bg.repeat(w * h) }
    }

    fn index(&self, x: i64, y: i64) -> Option<usize> {
        (x >= 0 && y >= 0 && (x as usize) < self.w && (y as usize) < self.h)
            .then(|| 3 * (y as usize * self.w + x as usize))
    }

    fn get(&self, x: i64, y: i64) -> Option<Rgb> {
        self.index(x, y).map(|i| [self.px[i], self.px[i + 1], self.px[i + 2]])
    }

    fn put(&mut self, x: i64, y: i64, c: Rgb) {
        self.blend(x, y, c, 1.0);
    }

    /// Alpha-blends `c` over the pixel; used for anti-aliased lines.
    fn blend(&mut self, x: i64, y: i64, c: Rgb, a: f64) {
        if let Some(i) = self.index(x, y) {
            for (k, &v) in c.iter().enumerate() {
                let old = self.px[i + k] as f64;
                self.px[i + k] = (old + (v as f64 - old) * a).round() as u8;
            }
        }
    }

    fn fill(&mut self, x: i64, y: i64, w: i64, h: i64, c: Rgb) {
        for yy in y.max(0)..(y + h).min(self.h as i64) {
            for xx in x.max(0)..(x + w).min(self.w as i64) {
                self.put(xx, yy, c);
            }
        }
    }

    /// Draws `s` with its top-left corner at (x, y).
    fn text(&mut self, x: i64, y: i64, s: &str, ts: usize, c: Rgb) {
        self.text_with(s, ts, |cx, cy| (x + cx, y + cy), c);
    }

    /// Draws `s` rotated 90 degrees counter-clockwise (reading bottom to top),
    /// starting at bottom-left (x, y); the glyph tops face left.
    fn text_up(&mut self, x: i64, y: i64, s: &str, ts: usize, c: Rgb) {
        self.text_with(s, ts, |cx, cy| (x + cy, y - cx), c);
    }

    /// Rasterises `s`, mapping unrotated text coordinates through `at`.
    fn text_with(&mut self, s: &str, ts: usize, at: impl Fn(i64, i64) -> (i64, i64), c: Rgb) {
        let ts = ts as i64;
        for (n, ch) in s.chars().enumerate() {
            let ox = n as i64 * 6 * ts;
            for (row, bits) in glyph(ch).iter().enumerate() {
                for col in 0..5 {
                    if bits & (0b10000 >> col) == 0 {
                        continue;
                    }
                    for dy in 0..ts {
                        for dx in 0..ts {
                            let (px, py) = at(ox + col * ts + dx, row as i64 * ts + dy);
                            self.put(px, py, c);
                        }
                    }
                }
            }
        }
    }

    /// Anti-aliased thick segment (coverage from distance to the segment),
    /// restricted to the clip rectangle `clip` = (x, y, w, h). A zero-length
    /// segment draws a dot, so single points stay visible.
    fn segment(&mut self, a: (f64, f64), b: (f64, f64), width: f64, c: Rgb, clip: Rect) {
        let r = width / 2.0 + 0.5;
        let x0 = (a.0.min(b.0) - r).floor().max(clip.x as f64) as i64;
        let x1 = (a.0.max(b.0) + r).ceil().min((clip.x + clip.w) as f64 - 1.0) as i64;
        let y0 = (a.1.min(b.1) - r).floor().max(clip.y as f64) as i64;
        let y1 = (a.1.max(b.1) + r).ceil().min((clip.y + clip.h) as f64 - 1.0) as i64;
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len2 = dx * dx + dy * dy;
        for y in y0..=y1 {
            for x in x0..=x1 {
                let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
                let t = if len2 > 0.0 {
                    (((px - a.0) * dx + (py - a.1) * dy) / len2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let d = (px - a.0 - t * dx).hypot(py - a.1 - t * dy);
                let alpha = (r - d).clamp(0.0, 1.0);
                if alpha > 0.0 {
                    self.blend(x, y, c, alpha);
                }
            }
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, self.w as u32, self.h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        // Writing to a Vec cannot fail with I/O errors; the sizes are consistent.
        let mut writer = enc.write_header().expect("PNG header");
        writer.write_image_data(&self.px).expect("PNG data");
        writer.finish().expect("PNG finish");
        out
    }
}

/// Integer pixel rectangle.
#[derive(Clone, Copy)]
struct Rect {
    x: i64,
    y: i64,
    w: i64,
    h: i64,
}

/// Renders 8x8 grayscale images (row-major, 64 values each, -1 = black,
/// +1 = white, clamped; NaN = black) as a grid with `cols` images per row,
/// each pixel upscaled `scale` times and separated by 2 px gaps. `row_labels`
/// (may be empty or shorter than the row count) are drawn left of each row.
/// A trailing partial image is drawn as far as its data goes.
pub fn sample_grid_png(images: &[f64], cols: usize, scale: usize, row_labels: &[String]) -> Vec<u8> {
    // a row never wider than the images
    let cols = cols.min(images.len().div_ceil(64)).max(1);
    let scale = scale.max(1);
    let rows = images.len().div_ceil(64).div_ceil(cols).max(1);
    let cell = 8 * scale;
    // Label text grows with the cells but stays well below the cell height.
    let ts = (scale / 2).clamp(1, 3);
    let pad = 4 * ts;
    let label_w = row_labels.iter().take(rows).map(|l| text_width(l, ts)).max().unwrap_or(0);
    let label_col = if label_w > 0 { label_w + 2 * pad } else { 0 };
    let pitch = cell + GAP;
    let mut cv = Canvas::new(label_col + GAP + cols * pitch, GAP + rows * pitch, WHITE);
    cv.fill(label_col as i64, 0, (cv.w - label_col) as i64, cv.h as i64, GAP_COLOUR);

    for (i, img) in images.chunks(64).enumerate() {
        let x0 = label_col + GAP + (i % cols) * pitch;
        let y0 = GAP + (i / cols) * pitch;
        for (j, &v) in img.iter().enumerate() {
            // `as u8` saturates and maps NaN to 0 (black).
            let g = ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8;
            let (px, py) = (x0 + (j % 8) * scale, y0 + (j / 8) * scale);
            cv.fill(px as i64, py as i64, scale as i64, scale as i64, [g, g, g]);
        }
    }
    for (r, label) in row_labels.iter().take(rows).enumerate() {
        // Centre the cap height (7 rows) on the row.
        let y = GAP + r * pitch + (cell - 7 * ts) / 2;
        cv.text(pad as i64, y as i64, label, ts, BLACK);
    }
    cv.encode()
}

/// One named (x, y) series; non-finite points (and non-positive values on a
/// log axis) are skipped, joining their neighbours.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// A dot at every point: for a few measured points, where the line between them is a guide.
    pub markers: bool,
}

/// Line plot description; a legend is drawn when there is more than one
/// series. A constant series with two points gives a horizontal reference
/// line.
pub struct LinePlot {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// Log10 x axis (non-positive x skipped): for sizes that double, such as PE counts.
    pub log_x: bool,
    /// x ticks at these values (those inside the axis) instead of nice steps: the sizes that
    /// were measured, say.
    pub x_ticks: Option<Vec<f64>>,
    pub log_y: bool,
    pub width: u32,
    pub height: u32,
}

impl LinePlot {
    /// A 900 x 560 plot on linear axes with nice ticks; change the rest with struct update
    /// syntax (`LinePlot { log_y: true, ..LinePlot::new(...) }`).
    pub fn new(title: impl Into<String>, x_label: &str, y_label: &str, series: Vec<Series>) -> LinePlot {
        LinePlot {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            series,
            log_x: false,
            x_ticks: None,
            log_y: false,
            width: 900,
            height: 560,
        }
    }
}

/// Nice step (1, 2 or 5 times a power of ten) giving about `target`
/// intervals over `range`.
fn nice_step(range: f64, target: usize) -> f64 {
    let raw = range / target.max(1) as f64;
    let base = 10f64.powf(raw.log10().floor());
    let f = raw / base;
    let m = if f < 1.5 {
        1.0
    } else if f < 3.0 {
        2.0
    } else if f < 7.0 {
        5.0
    } else {
        10.0
    };
    m * base
}

/// Formats `v` with `decimals` places, switching to trimmed scientific
/// notation where fixed notation would be unreadably long.
fn fmt_num(v: f64, decimals: usize) -> String {
    if v != 0.0 && (v.abs() >= 1e6 || decimals > 4) {
        let s = format!("{v:.3e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mant = mant.trim_end_matches('0').trim_end_matches('.');
        format!("{mant}e{exp}")
    } else {
        format!("{v:.decimals$}")
    }
}

/// Decimal places needed to tell apart multiples of `step`.
fn decimals_for(step: f64) -> usize {
    (-(step.log10() + 1e-9).floor()).max(0.0) as usize
}

/// Ticks as (axis value, label) at multiples of a nice step within [lo, hi].
fn linear_ticks(lo: f64, hi: f64, target: usize) -> Vec<(f64, String)> {
    let step = nice_step(hi - lo, target);
    let (k0, k1) = ((lo / step).ceil() as i64, (hi / step).floor() as i64);
    let dec = decimals_for(step);
    (k0..=k1.min(k0 + 100))
        .map(|k| {
            // Multiplying (not accumulating) avoids drift; snap -0 / 1e-17 to 0.
            let v = if k == 0 { 0.0 } else { k as f64 * step };
            (v, fmt_num(v, dec))
        })
        .collect()
}

/// Log-axis ticks; `lo`/`hi` are log10 bounds and returned values are log10.
/// Prefers decades, then 1-2-5, then 1..9 per decade, and falls back to
/// linear ticks when the range spans too little for any of them.
fn log_ticks(lo: f64, hi: f64, target: usize) -> Vec<(f64, String)> {
    let (e0, e1) = (lo.floor() as i64, hi.ceil() as i64);
    let decade_step = (((e1 - e0) as f64 / target.max(1) as f64).ceil() as i64).max(1);
    let sets: [&[f64]; 3] = [&[1.0], &[1.0, 2.0, 5.0], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]];
    for (i, mults) in sets.iter().enumerate() {
        let step = if i == 0 { decade_step } else { 1 };
        let ticks: Vec<_> = (e0..=e1)
            .filter(|e| (e - e0) % step == 0)
            .flat_map(|e| mults.iter().map(move |m| (e, m * 10f64.powi(e as i32))))
            .filter(|&(_, v)| (lo..=hi).contains(&v.log10()))
            .map(|(e, v)| (v.log10(), fmt_num(v, (-e).max(0) as usize)))
            .collect();
        // Fewer than four labels leave a plateau unreadable: try the next, denser set.
        if ticks.len() >= 4 {
            return ticks;
        }
    }
    linear_ticks(10f64.powf(lo), 10f64.powf(hi), target)
        .into_iter()
        .filter(|(v, _)| *v > 0.0)
        .map(|(v, s)| (v.log10(), s))
        .collect()
}

/// Min/max of `vals`, widened when degenerate and padded by `pad` of the
/// span; (0, 1) when there is no data.
fn axis_range(vals: impl Iterator<Item = f64>, pad: f64, degenerate: f64) -> (f64, f64) {
    let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if lo > hi {
        return (0.0, 1.0);
    }
    let (lo, hi) = if hi - lo <= 1e-12 * lo.abs().max(hi.abs()) {
        let d = if degenerate > 0.0 {
            degenerate
        } else if lo == 0.0 {
            1.0
        } else {
            0.1 * lo.abs()
        };
        (lo - d, hi + d)
    } else {
        (lo, hi)
    };
    let p = (hi - lo) * pad;
    (lo - p, hi + p)
}

/// Renders a line plot with nice ticks, grid, axis titles, title and (for
/// more than one series) a legend placed where it hides the least.
pub fn line_plot_png(plot: &LinePlot) -> Vec<u8> {
    let (w, h) = (plot.width.max(64) as usize, plot.height.max(64) as usize);
    let ts = if w.min(h) >= 400 { 2 } else { 1 };
    let th = text_height(ts) as i64;
    let gap = 4 * ts as i64;

    // Finite points in axis space (log10 on a log axis).
    let axis = |v: f64, log: bool| if log { v.log10() } else { v };
    let data: Vec<Vec<(f64, f64)>> = plot
        .series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .filter(|&&(x, y)| (!plot.log_x || x > 0.0) && (!plot.log_y || y > 0.0))
                .map(|&(x, y)| (axis(x, plot.log_x), axis(y, plot.log_y)))
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect()
        })
        .collect();
    let all = || data.iter().flatten();
    let (x0, x1) = axis_range(all().map(|p| p.0), 0.02, if plot.log_x { 0.5 } else { 0.0 });
    let (y0, y1) = axis_range(all().map(|p| p.1), 0.05, if plot.log_y { 0.5 } else { 0.0 });

    // Layout: vertical margins depend only on text height, the left margin
    // on the widest y tick label.
    let top = if plot.title.is_empty() { 2 * gap } else { th + 3 * gap };
    let x_title_h = if plot.x_label.is_empty() { 0 } else { th + gap };
    let bottom = gap + th + gap + x_title_h + gap;
    let ph = (h as i64 - top - bottom).max(10);
    let y_target = (ph as usize / (30 * ts)).clamp(2, 10);
    let y_ticks = if plot.log_y { log_ticks(y0, y1, y_target) } else { linear_ticks(y0, y1, y_target) };
    let y_lab_w = y_ticks.iter().map(|t| text_width(&t.1, ts)).max().unwrap_or(0) as i64;
    let y_title_w = if plot.y_label.is_empty() { 0 } else { th + gap };
    let left = gap + y_title_w + y_lab_w + gap + gap;
    let right = 4 * 6 * ts as i64;
    let pw = (w as i64 - left - right).max(10);
    let x_target = (pw as usize / (60 * ts)).clamp(2, 10);
    let x_ticks = match &plot.x_ticks {
        Some(values) => values
            .iter()
            .filter(|&&v| !plot.log_x || v > 0.0)
            .map(|&v| (axis(v, plot.log_x), format!("{v}")))
            .filter(|&(a, _)| (x0..=x1).contains(&a))
            .collect(),
        None if plot.log_x => log_ticks(x0, x1, x_target),
        None => linear_ticks(x0, x1, x_target),
    };
    let area = Rect { x: left, y: top, w: pw, h: ph };
    let to_px = |x: f64| left as f64 + (x - x0) / (x1 - x0) * pw as f64;
    let to_py = |y: f64| (top + ph) as f64 - (y - y0) / (y1 - y0) * ph as f64;
    // Pixel column/row containing a continuous coordinate, kept inside the area.
    let col = |x: f64| (to_px(x).floor() as i64).clamp(left, left + pw - 1);
    let row = |y: f64| (to_py(y).floor() as i64).clamp(top, top + ph - 1);

    let mut cv = Canvas::new(w, h, WHITE);
    for (v, label) in &x_ticks {
        let x = col(*v);
        cv.fill(x, top, 1, ph, GRID);
        cv.fill(x, top + ph, 1, gap, FRAME);
        let lw = text_width(label, ts) as i64;
        cv.text(x - lw / 2, top + ph + 2 * gap, label, ts, BLACK);
    }
    for (v, label) in &y_ticks {
        let y = row(*v);
        cv.fill(left, y, pw, 1, GRID);
        cv.fill(left - gap, y, gap, 1, FRAME);
        let lw = text_width(label, ts) as i64;
        cv.text(left - 2 * gap - lw, y - 7 * ts as i64 / 2, label, ts, BLACK);
    }

    for (i, pts) in data.iter().enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        let px: Vec<_> = pts.iter().map(|&(x, y)| (to_px(x), to_py(y))).collect();
        match px.as_slice() {
            [p] => cv.segment(*p, *p, 2.0 * LINE_WIDTH, c, area),
            _ => px.windows(2).for_each(|s| cv.segment(s[0], s[1], LINE_WIDTH, c, area)),
        }
        if plot.series[i].markers {
            px.iter().for_each(|p| cv.segment(*p, *p, 4.0 * LINE_WIDTH, c, area));
        }
    }

    // Frame around the plot area, just outside it so data is not hidden.
    cv.fill(left - 1, top - 1, pw + 2, 1, FRAME);
    cv.fill(left - 1, top + ph, pw + 2, 1, FRAME);
    cv.fill(left - 1, top - 1, 1, ph + 2, FRAME);
    cv.fill(left + pw, top - 1, 1, ph + 2, FRAME);

    if !plot.title.is_empty() {
        let tw = text_width(&plot.title, ts) as i64;
        cv.text(left + (pw - tw) / 2, 2 * gap, &plot.title, ts, BLACK);
    }
    if !plot.x_label.is_empty() {
        let tw = text_width(&plot.x_label, ts) as i64;
        cv.text(left + (pw - tw) / 2, top + ph + 3 * gap + th, &plot.x_label, ts, BLACK);
    }
    if !plot.y_label.is_empty() {
        let tw = text_width(&plot.y_label, ts) as i64;
        cv.text_up(gap, top + (ph + tw) / 2, &plot.y_label, ts, BLACK);
    }
    if plot.series.len() > 1 {
        draw_legend(&mut cv, &plot.series, area, ts);
    }
    cv.encode()
}

/// Draws the legend box in whichever plot corner (or side middle) covers the
/// fewest data pixels, so it rarely hides the curves.
fn draw_legend(cv: &mut Canvas, series: &[Series], area: Rect, ts: usize) {
    let gap = 4 * ts as i64;
    let swatch = 6 * gap;
    let line_h = text_height(ts) as i64 + gap;
    let name_w = series.iter().map(|s| text_width(&s.name, ts)).max().unwrap_or(0) as i64;
    let (bw, bh) = (3 * gap + swatch + name_w, gap + series.len() as i64 * line_h);
    let corners = [
        (area.x + area.w - bw - gap, area.y + gap),
        (area.x + gap, area.y + gap),
        (area.x + area.w - bw - gap, area.y + area.h - bh - gap),
        (area.x + gap, area.y + area.h - bh - gap),
        // half-way up a side, for curves that keep to the top and the bottom
        (area.x + area.w - bw - gap, area.y + (area.h - bh) / 2),
        (area.x + gap, area.y + (area.h - bh) / 2),
    ];
    let ink = |(bx, by): (i64, i64)| {
        (by..by + bh)
            .flat_map(|y| (bx..bx + bw).map(move |x| (x, y)))
            .filter(|&(x, y)| cv.get(x, y).is_some_and(|c| c != WHITE && c != GRID))
            .count()
    };
    let (bx, by) = corners.into_iter().min_by_key(|&c| ink(c)).unwrap_or(corners[0]);
    cv.fill(bx, by, bw, bh, WHITE);
    for (x, y, w, h) in [(bx, by, bw, 1), (bx, by + bh - 1, bw, 1), (bx, by, 1, bh), (bx + bw - 1, by, 1, bh)]
    {
        cv.fill(x, y, w, h, FRAME);
    }
    let clip = Rect { x: bx, y: by, w: bw, h: bh };
    for (i, s) in series.iter().enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        let y = by + gap + i as i64 * line_h;
        let mid = y as f64 + 3.5 * ts as f64;
        cv.segment((bx as f64 + gap as f64, mid), ((bx + gap + swatch) as f64, mid), LINE_WIDTH, c, clip);
        cv.text(bx + 2 * gap + swatch, y, &s.name, ts, BLACK);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes PNG bytes into (width, height, RGB pixels).
    fn decode(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb);
        buf.truncate(info.buffer_size());
        (info.width as usize, info.height as usize, buf)
    }

    fn pixel(img: &(usize, usize, Vec<u8>), x: usize, y: usize) -> Rgb {
        let i = 3 * (y * img.0 + x);
        [img.2[i], img.2[i + 1], img.2[i + 2]]
    }

    fn has_colour(img: &(usize, usize, Vec<u8>), c: Rgb) -> bool {
        img.2.chunks(3).any(|p| p == c)
    }

    fn plot(series: Vec<Series>, log_y: bool) -> LinePlot {
        LinePlot { log_y, width: 640, height: 480, ..LinePlot::new("Loss", "epoch", "loss", series) }
    }

    fn series(name: &str, points: Vec<(f64, f64)>) -> Series {
        Series { name: name.into(), points, markers: false }
    }

    #[test]
    fn grid_black_and_white_cells_with_gaps() {
        let mut imgs = vec![-1.0f64; 64];
        imgs.extend([1.0f64; 64]);
        let img = decode(&sample_grid_png(&imgs, 2, 3, &[]));
        // 2 + 2 * (24 + 2) wide, one row.
        assert_eq!((img.0, img.1), (54, 28));
        assert_eq!(pixel(&img, 0, 0), GAP_COLOUR);
        assert_eq!(pixel(&img, 2, 2), BLACK);
        assert_eq!(pixel(&img, 25, 25), BLACK);
        assert_eq!(pixel(&img, 26, 10), GAP_COLOUR);
        assert_eq!(pixel(&img, 28, 2), WHITE);
        assert_eq!(pixel(&img, 51, 25), WHITE);
        assert_eq!(pixel(&img, 53, 27), GAP_COLOUR);
    }

    #[test]
    fn grid_pixel_order_scale_and_clamping() {
        // Row-major: pixel (x=1, y=0) white, others clamped from -5 to black;
        // 0.0 maps to mid gray.
        let mut img = vec![-5.0f64; 64];
        img[1] = 7.0;
        img[8] = 0.0;
        let out = decode(&sample_grid_png(&img, 1, 2, &[]));
        assert_eq!((out.0, out.1), (20, 20));
        assert_eq!(pixel(&out, 2 + 2, 2), WHITE);
        assert_eq!(pixel(&out, 2 + 3, 3), WHITE);
        assert_eq!(pixel(&out, 2, 2 + 2), [128, 128, 128]);
        assert_eq!(pixel(&out, 2 + 4, 2), BLACK);
    }

    #[test]
    fn grid_partial_last_row_and_labels() {
        let imgs = vec![1.0f64; 3 * 64];
        let labels = vec!["t1=1.2".to_string(), "t2=0.5".to_string()];
        let out = decode(&sample_grid_png(&imgs, 2, 4, &labels));
        let label_col = text_width("t1=1.2", 2) + 16;
        assert_eq!(out.0, label_col + 2 + 2 * 34);
        assert_eq!(out.1, 2 + 2 * 34);
        // Missing fourth image leaves its cell in the gap colour.
        assert_eq!(pixel(&out, label_col + 2 + 34 + 10, 2 + 34 + 10), GAP_COLOUR);
        assert_eq!(pixel(&out, label_col + 2 + 10, 2 + 34 + 10), WHITE);
        // Both label areas contain black text on white.
        for r in 0..2 {
            let ys = 2 + r * 34..2 + (r + 1) * 34;
            let dark = ys.flat_map(|y| (0..label_col).map(move |x| (x, y)));
            assert!(dark.filter(|&(x, y)| pixel(&out, x, y) == BLACK).count() > 20);
        }
    }

    #[test]
    fn grid_row_is_never_wider_than_the_images() {
        let imgs = vec![1.0f64; 4 * 64];
        let wide = decode(&sample_grid_png(&imgs, 1000, 8, &[]));
        assert_eq!((wide.0, wide.1), (2 + 4 * 66, 2 + 66));
        assert_eq!(wide, decode(&sample_grid_png(&imgs, 4, 8, &[])));
    }

    #[test]
    fn grid_empty_input_is_valid_png() {
        let out = decode(&sample_grid_png(&[], 0, 0, &[]));
        assert_eq!((out.0, out.1), (12, 12));
        assert!(out.2.chunks(3).all(|p| p == GAP_COLOUR));
    }

    #[test]
    fn line_plot_draws_rising_series_across_area() {
        let pts = (0..=100).map(|i| (i as f64, i as f64 * 0.5)).collect();
        let img = decode(&line_plot_png(&plot(vec![series("a", pts)], false)));
        assert_eq!((img.0, img.1), (640, 480));
        let c = PALETTE[0];
        // Series colour appears in many columns, and higher on the right.
        let cols: Vec<(usize, usize)> =
            (0..img.0).filter_map(|x| (0..img.1).find(|&y| pixel(&img, x, y) == c).map(|y| (x, y))).collect();
        assert!(cols.len() > 400, "only {} columns drawn", cols.len());
        assert!(cols.first().unwrap().1 > cols.last().unwrap().1 + 300);
        // No legend for a single series: the second palette colour is absent.
        assert!(!has_colour(&img, PALETTE[1]));
    }

    #[test]
    fn line_plot_two_series_distinct_colours_and_legend() {
        let a = (0..50).map(|i| (i as f64, 3.0 - i as f64 * 0.05)).collect();
        let b = vec![(0.0, 1.0), (49.0, 1.0)];
        let img = decode(&line_plot_png(&plot(vec![series("raw", a), series("ref", b)], true)));
        assert!(has_colour(&img, PALETTE[0]));
        assert!(has_colour(&img, PALETTE[1]));
        let longest_row = |c: Rgb| {
            (0..img.1).map(|y| (0..img.0).filter(|&x| pixel(&img, x, y) == c).count()).max().unwrap()
        };
        // The horizontal reference line spans the plot width.
        assert!(longest_row(PALETTE[1]) > 400);
        // "raw" is diagonal, so a horizontal run of its colour is the legend swatch.
        assert!(longest_row(PALETTE[0]) >= 40);
    }

    #[test]
    fn line_plot_log_x_spaces_decades_evenly_and_marks_points() {
        let pts = vec![(1.0, 5.0), (10.0, 5.0), (100.0, 5.0), (0.0, 5.0)];
        let mut p = plot(vec![Series { name: "a".into(), points: pts, markers: true }], false);
        p.log_x = true;
        let img = decode(&line_plot_png(&p));
        let c = PALETTE[0];
        let height = |x: usize| (0..img.1).filter(|&y| pixel(&img, x, y) == c).count();
        // The line is LINE_WIDTH tall; the dots (4 x LINE_WIDTH) stand out at three columns,
        // one per point (x = 0 has no place on a log axis and is skipped).
        let tall: Vec<usize> = (0..img.0).filter(|&x| height(x) >= 5).collect();
        let mut centres = Vec::new();
        for run in tall.chunk_by(|a, b| b - a == 1) {
            centres.push((run[0] + run[run.len() - 1]) as f64 / 2.0);
        }
        assert_eq!(centres.len(), 3, "dots at {centres:?}");
        let (d1, d2) = (centres[1] - centres[0], centres[2] - centres[1]);
        assert!((d1 - d2).abs() <= 1.0 && d1 > 100.0, "decades {d1} and {d2} px apart");
        // Without markers the line alone is drawn: nothing is that tall.
        p.series[0].markers = false;
        let img = decode(&line_plot_png(&p));
        assert!((0..img.0).all(|x| (0..img.1).filter(|&y| pixel(&img, x, y) == c).count() < 5));
    }

    #[test]
    fn line_plot_degenerate_inputs() {
        let nan = f64::NAN;
        let cases = vec![
            vec![],
            vec![series("empty", vec![])],
            vec![series("one", vec![(3.0, 2.0)])],
            vec![series("flat", vec![(0.0, 5.0), (1.0, 5.0), (nan, 1.0), (2.0, nan)])],
        ];
        for (i, s) in cases.into_iter().enumerate() {
            let drawn = !s.is_empty() && s.iter().any(|s| !s.points.is_empty());
            let img = decode(&line_plot_png(&plot(s, i == 3)));
            assert_eq!((img.0, img.1), (640, 480));
            assert_eq!(has_colour(&img, PALETTE[0]), drawn, "case {i}");
        }
    }

    #[test]
    fn nice_ticks_and_labels() {
        let t = linear_ticks(0.0, 2000.0, 5);
        let labels: Vec<_> = t.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels, ["0", "500", "1000", "1500", "2000"]);
        let t = linear_ticks(0.28, 2.9, 5);
        let labels: Vec<_> = t.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels, ["0.5", "1.0", "1.5", "2.0", "2.5"]);
        let t = log_ticks(0.3f64.log10(), 3.0f64.log10(), 5);
        let labels: Vec<_> = t.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels, ["0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1", "2", "3"]);
        assert_eq!(fmt_num(1.5e-7, 7), "1.5e-7");
        assert_eq!(fmt_num(-0.25, 2), "-0.25");
    }

    #[test]
    fn text_width_counts_advance() {
        assert_eq!(text_width("", 2), 0);
        assert_eq!(text_width("ab", 1), 11);
        assert_eq!(text_width("ab", 2), 22);
    }
}

//! The UCI optical-recognition digits (1797 8x8 images), embedded in the binary so that a fresh
//! clone runs without a download. Provenance and licence: `data/digits.rst` (CC BY 4.0).

use crate::error::Error;
use std::io::Read;

/// The data file as shipped by scikit-learn: 64 pixels 0..16 then the label, one image a line.
const DIGITS_CSV_GZ: &[u8] = include_bytes!("../data/digits.csv.gz");

/// Pixels per image.
pub const N_PIXELS: usize = 64;

/// Images in the embedded set: one full-batch epoch (a test checks it against the data).
pub const N_IMAGES: usize = 1797;

/// Images scaled to [-1, 1] (`pixel/16*2 - 1`, SPEC) and their labels.
#[derive(Debug, Clone)]
pub struct Digits {
    /// Row-major, `N_PIXELS` values per image.
    pub images: Vec<f64>,
    pub labels: Vec<u8>,
}

impl Digits {
    /// The embedded data set.
    pub fn embedded() -> Digits {
        Digits::from_csv_gz(DIGITS_CSV_GZ, "embedded digits.csv.gz").expect("the embedded data set parses")
    }

    /// Parses gzipped CSV text; errors name the origin and the line.
    pub fn from_csv_gz(bytes: &[u8], origin: &str) -> Result<Digits, Error> {
        let err = |message: String| Error::Data { origin: origin.to_string(), message };
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_string(&mut text)
            .map_err(|e| err(format!("cannot decompress: {e}")))?;
        let mut images = Vec::new();
        let mut labels = Vec::new();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let fields: Vec<&str> = line.split(',').collect();
            if fields.len() != N_PIXELS + 1 {
                return Err(err(format!(
                    "line {}: {} fields, expected {}",
                    i + 1,
                    fields.len(),
                    N_PIXELS + 1
                )));
            }
            for (j, f) in fields.iter().enumerate() {
                let v: u8 = f
                    .trim()
                    .parse()
                    .ok()
                    .filter(|&v| v <= if j < N_PIXELS { 16 } else { 9 })
                    .ok_or_else(|| err(format!("line {}, field {}: bad value {f:?}", i + 1, j + 1)))?;
                if j < N_PIXELS {
                    images.push(v as f64 / 16.0 * 2.0 - 1.0);
                } else {
                    labels.push(v);
                }
            }
        }
        Ok(Digits { images, labels })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Image `i`, `N_PIXELS` values in [-1, 1].
    pub fn image(&self, i: usize) -> &[f64] {
        &self.images[i * N_PIXELS..(i + 1) * N_PIXELS]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_data_has_1797_images_of_all_ten_classes_in_range() {
        let d = Digits::embedded();
        assert_eq!(d.len(), N_IMAGES);
        assert_eq!(d.images.len(), 1797 * 64);
        assert!(d.images.iter().all(|&v| (-1.0..=1.0).contains(&v)));
        for c in 0..10u8 {
            let n = d.labels.iter().filter(|&&l| l == c).count();
            assert!((170..=190).contains(&n), "class {c}: {n}");
        }
        // First image of the file: pixel 2 is 5/16.
        assert_eq!(d.image(0)[2], 5.0 / 16.0 * 2.0 - 1.0);
    }

    #[test]
    fn malformed_rows_are_reported_with_line() {
        use flate2::{write::GzEncoder, Compression};
        use std::io::Write;
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(b"1,2,3\n").unwrap();
        let err = Digits::from_csv_gz(&enc.finish().unwrap(), "x.csv.gz").unwrap_err();
        assert!(err.to_string().contains("x.csv.gz") && err.to_string().contains("line 1"));
    }
}

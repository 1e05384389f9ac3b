//! Geospatial indexing on sorted sets, as Redis's geohash.c and geohash_helper.c compute it: a
//! point is the score of its member, a 52-bit geohash interleaving 26 bits of latitude (over
//! Redis's Mercator-safe range -85.05112878..85.05112878) and 26 bits of longitude. A search
//! covers the center's geohash box at a precision chosen from the radius, plus its eight
//! neighbours (some dropped when they cannot intersect), and keeps the points within the shape.
//! Distances are the haversine great-circle distance on Redis's Earth radius.

pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
pub const STEP_MAX: u8 = 26;
const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// A geohash of `step` bits per coordinate.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Hash {
    pub bits: u64,
    pub step: u8,
}

impl Hash {
    fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Area {
    pub longitude: Range,
    pub latitude: Range,
}

const WGS84_LONG: Range = Range { min: LONG_MIN, max: LONG_MAX };
const WGS84_LAT: Range = Range { min: LAT_MIN, max: LAT_MAX };

fn interleave64(xlo: u32, ylo: u32) -> u64 {
    const B: [u64; 5] = [0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let mut x = xlo as u64;
    let mut y = ylo as u64;
    for i in (0..5).rev() {
        x = (x | (x << S[i])) & B[i];
        y = (y | (y << S[i])) & B[i];
    }
    x | (y << 1)
}

fn deinterleave64(interleaved: u64) -> u64 {
    const B: [u64; 6] = [0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF, 0x00000000FFFFFFFF];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let mut x = interleaved;
    let mut y = interleaved >> 1;
    for i in 0..6 {
        x = (x | (x >> S[i])) & B[i];
        y = (y | (y >> S[i])) & B[i];
    }
    x | (y << 32)
}

/// geohashEncode over explicit ranges; None outside them.
pub fn encode(long_range: Range, lat_range: Range, longitude: f64, latitude: f64, step: u8) -> Option<Hash> {
    if step > 32 || step == 0 {
        return None;
    }
    if !(LONG_MIN..=LONG_MAX).contains(&longitude) || !(LAT_MIN..=LAT_MAX).contains(&latitude) {
        return None;
    }
    if latitude < lat_range.min || latitude > lat_range.max || longitude < long_range.min || longitude > long_range.max {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_offset = (latitude - lat_range.min) / (lat_range.max - lat_range.min) * scale;
    let long_offset = (longitude - long_range.min) / (long_range.max - long_range.min) * scale;
    // C converts the doubles to uint32_t parameters: truncation.
    Some(Hash { bits: interleave64(lat_offset as u32, long_offset as u32), step })
}

/// The 52-bit score of a point (geohashEncodeWGS84 then geohashAlign52Bits).
pub fn score_of(longitude: f64, latitude: f64) -> Option<u64> {
    encode(WGS84_LONG, WGS84_LAT, longitude, latitude, STEP_MAX).map(|h| h.bits << (52 - 2 * STEP_MAX as u32))
}

/// geohashDecode: the cell a hash stands for.
pub fn decode(long_range: Range, lat_range: Range, hash: Hash) -> Option<Area> {
    if hash.is_zero() {
        return None;
    }
    let sep = deinterleave64(hash.bits);
    let lat_scale = lat_range.max - lat_range.min;
    let long_scale = long_range.max - long_range.min;
    let ilato = sep as u32;
    let ilono = (sep >> 32) as u32;
    let div = (1u64 << hash.step) as f64;
    Some(Area {
        latitude: Range {
            min: lat_range.min + (ilato as f64 * 1.0 / div) * lat_scale,
            max: lat_range.min + ((ilato as f64 + 1.0) * 1.0 / div) * lat_scale,
        },
        longitude: Range {
            min: long_range.min + (ilono as f64 * 1.0 / div) * long_scale,
            max: long_range.min + ((ilono as f64 + 1.0) * 1.0 / div) * long_scale,
        },
    })
}

/// C's conversion of a double to int64_t on x86-64 (cvttsd2si): truncation, and the "integer
/// indefinite" i64::MIN for NaN and out-of-range values (where Rust's `as` saturates).
pub fn c_double_to_i64(d: f64) -> i64 {
    const TWO_63: f64 = 9.223_372_036_854_775_808e18;
    if d.is_nan() || !(-TWO_63..TWO_63).contains(&d) { i64::MIN } else { d as i64 }
}

/// C's conversion of a double to uint64_t as gcc compiles it on x86-64: negative values wrap,
/// values from 2^63 up go through a subtraction, infinities end up 0. Redis casts a member's
/// score this way before decoding it, so any score decodes as in Redis.
fn c_double_to_u64(d: f64) -> u64 {
    const TWO_63: f64 = 9.223_372_036_854_775_808e18;
    if d < TWO_63 { c_double_to_i64(d) as u64 } else { (c_double_to_i64(d - TWO_63) as u64) ^ (1 << 63) }
}

/// decodeGeohash: a member's score back to (longitude, latitude), the center of its cell.
pub fn position_of(score: f64) -> Option<(f64, f64)> {
    let area = decode(WGS84_LONG, WGS84_LAT, Hash { bits: c_double_to_u64(score), step: STEP_MAX })?;
    let lon = ((area.longitude.min + area.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((area.latitude.min + area.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    Some((lon, lat))
}

/// GEOHASH: the standard 11-character geohash (latitude over -90..90) of a score.
pub fn geohash_string(score: f64) -> Option<[u8; 11]> {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (lon, lat) = position_of(score)?;
    let hash = encode(Range { min: -180.0, max: 180.0 }, Range { min: -90.0, max: 90.0 }, lon, lat, 26).unwrap_or_default();
    let mut out = [0u8; 11];
    for (i, c) in out.iter_mut().enumerate() {
        // 52 bits make ten characters; the eleventh is 0, as Redis pads it.
        let idx = if i == 10 { 0 } else { (hash.bits >> (52 - (i + 1) * 5)) & 0x1f };
        *c = ALPHABET[idx as usize];
    }
    Some(out)
}

fn deg_rad(d: f64) -> f64 {
    d * (std::f64::consts::PI / 180.0)
}

fn rad_deg(r: f64) -> f64 {
    r / (std::f64::consts::PI / 180.0)
}

fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// geohashGetDistance: haversine distance in meters.
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lon1r = deg_rad(lon1);
    let lon2r = deg_rad(lon2);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let lat1r = deg_rad(lat1);
    let lat2r = deg_rad(lat2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

/// What a search covers, in meters once multiplied by `conversion`.
#[derive(Clone, Copy, Debug)]
pub enum ShapeKind {
    Radius(f64),
    Box { width: f64, height: f64 },
}

#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub lon: f64,
    pub lat: f64,
    pub conversion: f64,
    pub kind: ShapeKind,
}

impl Shape {
    /// geoWithinShape: the distance to a point, None when it is outside.
    pub fn distance_if_within(&self, lon: f64, lat: f64) -> Option<f64> {
        match self.kind {
            ShapeKind::Radius(r) => {
                let d = distance(self.lon, self.lat, lon, lat);
                (d <= r * self.conversion).then_some(d)
            }
            ShapeKind::Box { width, height } => {
                let (w, h) = (width * self.conversion, height * self.conversion);
                if lat_distance(lat, self.lat) > h / 2.0 {
                    return None;
                }
                if distance(lon, lat, self.lon, lat) > w / 2.0 {
                    return None;
                }
                Some(distance(self.lon, self.lat, lon, lat))
            }
        }
    }

    /// geohashBoundingBox: [min lon, min lat, max lon, max lat].
    fn bounds(&self) -> [f64; 4] {
        let (height, width) = match self.kind {
            ShapeKind::Radius(r) => (r, r),
            ShapeKind::Box { width, height } => (height / 2.0, width / 2.0),
        };
        let (height, width) = (self.conversion * height, self.conversion * width);
        let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
        let long_delta_top = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(self.lat + lat_delta).cos());
        let long_delta_bottom = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(self.lat - lat_delta).cos());
        let delta = if self.lat < 0.0 { long_delta_bottom } else { long_delta_top };
        [self.lon - delta, self.lat - lat_delta, self.lon + delta, self.lat + lat_delta]
    }
}

/// geohashEstimateStepsByRadius.
fn estimate_steps(mut range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut step: i32 = 1;
    while range_meters < MERCATOR_MAX {
        range_meters *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

const ODD_BITS: u64 = 0xaaaaaaaaaaaaaaaa;
const EVEN_BITS: u64 = 0x5555555555555555;

/// geohash_move_x / geohash_move_y: one cell along an axis (longitude: the odd bits, latitude:
/// the even ones), wrapping around; `d` is -1, 0 or 1.
fn move_along(hash: &mut Hash, d: i8, axis: u64) {
    if d == 0 {
        return;
    }
    let other = !axis;
    let mut v = hash.bits & axis;
    let rest = hash.bits & other;
    let shift = 64 - hash.step as u32 * 2;
    let zz = other >> shift;
    if d > 0 {
        v = v.wrapping_add(zz + 1);
    } else {
        v |= zz;
        v = v.wrapping_sub(zz + 1);
    }
    v &= axis >> shift;
    hash.bits = v | rest;
}

fn neighbour(hash: Hash, dx: i8, dy: i8) -> Hash {
    let mut h = hash;
    move_along(&mut h, dx, ODD_BITS);
    move_along(&mut h, dy, EVEN_BITS);
    h
}

/// The boxes a search scans, in Redis's order (the center, N, S, E, W, NE, NW, SE, SW), as
/// score ranges [min, max); boxes that cannot intersect the shape are left out, as are
/// repeats of the previous box (huge radii make neighbours coincide).
pub fn search_boxes(shape: &Shape) -> Vec<(u64, u64)> {
    let [min_lon, min_lat, max_lon, max_lat] = shape.bounds();
    let radius_meters = match shape.kind {
        ShapeKind::Radius(r) => r,
        ShapeKind::Box { width, height } => ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt(),
    } * shape.conversion;
    let mut steps = estimate_steps(radius_meters, shape.lat);
    let around = |steps: u8| {
        let hash = encode(WGS84_LONG, WGS84_LAT, shape.lon, shape.lat, steps).unwrap_or_default();
        let n = [(0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1)].map(|(dx, dy)| neighbour(hash, dx, dy));
        (hash, n)
    };
    let (mut hash, mut n) = around(steps);
    let area_of = |h: Hash| decode(WGS84_LONG, WGS84_LAT, h);
    // A step too coarse at the edges of the covered area is one less.
    let [north, south, east, west] = [n[0], n[1], n[2], n[3]].map(area_of);
    let decrease = north.is_some_and(|a| a.latitude.max < max_lat)
        || south.is_some_and(|a| a.latitude.min > min_lat)
        || east.is_some_and(|a| a.longitude.max < max_lon)
        || west.is_some_and(|a| a.longitude.min > min_lon);
    if steps > 1 && decrease {
        steps -= 1;
        (hash, n) = around(steps);
    }
    let mut boxes: [Hash; 9] = [hash, n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7]];
    if steps >= 2 {
        if let Some(area) = area_of(hash) {
            let zero = Hash::default();
            // Indexes into `boxes`: N 1, S 2, E 3, W 4, NE 5, NW 6, SE 7, SW 8.
            if area.latitude.min < min_lat {
                for i in [2, 8, 7] { boxes[i] = zero; }
            }
            if area.latitude.max > max_lat {
                for i in [1, 5, 6] { boxes[i] = zero; }
            }
            if area.longitude.min < min_lon {
                for i in [4, 8, 6] { boxes[i] = zero; }
            }
            if area.longitude.max > max_lon {
                for i in [3, 7, 5] { boxes[i] = zero; }
            }
        }
    }
    let mut out = Vec::with_capacity(9);
    let mut last: Option<Hash> = None;
    for b in boxes {
        if b.is_zero() || last == Some(b) {
            continue;
        }
        let shift = 52 - 2 * b.step as u32;
        out.push((b.bits << shift, (b.bits + 1) << shift));
        last = Some(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_and_positions_match_redis() {
        // GEOADD Sicily 13.361389 38.115556 "Palermo": score 3479099956230698 on Redis 7.0.15.
        assert_eq!(score_of(13.361389, 38.115556), Some(3479099956230698));
        assert_eq!(score_of(15.087269, 37.502669), Some(3479447370796909));
        let (lon, lat) = position_of(3479099956230698.0).unwrap();
        assert_eq!(format!("{lon:.17}"), "13.36138933897018433");
        assert_eq!(format!("{lat:.17}"), "38.11555639549629859");
        assert_eq!(&geohash_string(3479099956230698.0).unwrap(), b"sqc8b49rny0");
        let d = distance(13.36138933897018433, 38.11555639549629859, 15.08726745843887329, 37.50266842333162032);
        assert_eq!(format!("{d:.4}"), "166274.1516");
    }
}

//! Writes a bundle's zip to the store as a stream: each original is read
//! from the store in chunks and written as a Stored entry (photos do not
//! compress) with its real date, through a writer that uploads the zip in
//! parts. Neither the zip nor any photo is ever held in memory whole, so a
//! bundle of thousands of photos runs in a few megabytes. Entries carry
//! ZIP64 fields, so bundles past 4 GiB or 65,535 photos open everywhere.

use async_zip::base::write::ZipFileWriter;
use async_zip::{Compression, ZipDateTimeBuilder, ZipEntryBuilder};
use futures::StreamExt as _;
use futures::io::AsyncWriteExt as _;
use pictor_db::BundleItem;
use pictor_store::BlobStore;

use crate::error::{Error, Result};

/// Writes `items` into a zip at the store key `key`, in parts of
/// `part_bytes`; `progress` is sent how many entries are written after
/// each. Returns the zip's size. On failure nothing is left at `key`.
pub async fn write(
    store: &BlobStore,
    key: &str,
    part_bytes: usize,
    items: &[BundleItem],
    progress: &tokio::sync::watch::Sender<usize>,
) -> Result<u64> {
    let writer = store.object_writer(key, part_bytes)?;
    let mut zip = ZipFileWriter::with_tokio(writer).force_zip64();
    let written = async {
        for (done, item) in items.iter().enumerate() {
            add_entry(store, &mut zip, item).await?;
            progress.send_replace(done + 1);
        }
        Ok::<_, Error>(())
    }
    .await;
    if let Err(e) = written {
        let _ = zip.inner_mut().get_mut().abort().await;
        return Err(e);
    }
    let writer = zip.close().await.map_err(zip_error)?.into_inner();
    writer.finish().await?;
    Ok(store.object_size(key).await?)
}

/// One photo as one Stored entry, streamed from the store.
async fn add_entry<W: futures::io::AsyncWrite + Unpin>(
    store: &BlobStore,
    zip: &mut ZipFileWriter<W>,
    item: &BundleItem,
) -> Result<()> {
    let (_, mut bytes) = store.blob_stream(&item.sha256).await?;
    let entry = ZipEntryBuilder::new(item.name.clone().into(), Compression::Stored)
        .last_modification_date(zip_date(item.taken_at))
        .unix_permissions(0o644);
    let mut writer = zip.write_entry_stream(entry).await.map_err(zip_error)?;
    while let Some(chunk) = bytes.next().await {
        writer.write_all(&chunk?).await.map_err(Error::internal)?;
    }
    writer.close().await.map_err(zip_error)
}

/// A Unix ms time as a zip's (DOS) date, in UTC; DOS dates start in 1980.
fn zip_date(ms: i64) -> async_zip::ZipDateTime {
    let at = civil_utc(ms.max(315_532_800_000));
    ZipDateTimeBuilder::new().year(at.0).month(at.1).day(at.2).hour(at.3).minute(at.4).second(at.5).build()
}

/// (year, month, day, hour, minute, second) in UTC of Unix ms `ms`.
pub fn civil_utc(ms: i64) -> (i32, u32, u32, u32, u32, u32) {
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (hour, minute, second) = (rest / 3600, rest % 3600 / 60, rest % 60);
    (year as i32, month as u32, day as u32, hour as u32, minute as u32, second as u32)
}

fn zip_error(e: async_zip::error::ZipError) -> Error {
    Error::internal(format!("writing the zip: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_times_become_calendar_dates() {
        assert_eq!(civil_utc(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil_utc(1_294_925_619_000), (2011, 1, 13, 13, 33, 39));
        assert_eq!(civil_utc(951_782_400_000), (2000, 2, 29, 0, 0, 0));
        assert_eq!(civil_utc(4_102_444_799_000), (2099, 12, 31, 23, 59, 59));
    }
}

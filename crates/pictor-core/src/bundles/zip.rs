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
    let (year, month, day, hour, minute, second) = pictor_db::utc_fields(ms.max(315_532_800_000));
    ZipDateTimeBuilder::new().year(year as i32).month(month).day(day).hour(hour).minute(minute).second(second).build()
}

fn zip_error(e: async_zip::error::ZipError) -> Error {
    Error::internal(format!("writing the zip: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_times_become_zip_dates() {
        let date = zip_date(1_294_925_619_000);
        assert_eq!((date.year(), date.month(), date.day()), (2011, 1, 13));
        assert_eq!((date.hour(), date.minute()), (13, 33));
        assert_eq!(zip_date(0).year(), 1980, "DOS dates start in 1980");
    }
}

//! Albums: an owner's named sets of photos, the use cases every front end
//! (pages, API) shares. An album is as private as a photo: another's album
//! does not exist (404). Only its owner changes it, and only with photos of
//! the same owner, so an album never shows someone else's picture.

use pictor_db::{AlbumRecord, Db};

use crate::AppState;
use crate::access::{ensure_manages, ensure_visible};
use crate::auth::Principal;
use crate::error::{Error, ErrorKind, Result};

/// An album's name: 1 to 120 characters once trimmed, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlbumName(String);

impl AlbumName {
    pub fn parse(raw: &str) -> Result<Self> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(invalid("an album needs a name"));
        }
        if name.chars().count() > 120 || name.chars().any(char::is_control) {
            return Err(invalid("an album's name is at most 120 characters, on one line"));
        }
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An album's description: at most 2,000 characters, trimmed.
pub fn description(raw: &str) -> Result<String> {
    let text = raw.trim();
    if text.chars().count() > 2000 {
        return Err(invalid("an album's description is at most 2,000 characters"));
    }
    Ok(text.to_string())
}

fn invalid(detail: &str) -> Error {
    Error::new(ErrorKind::InvalidRequest, detail)
}

/// Creates an empty album owned by the caller.
pub async fn create(db: &Db, caller: &Principal, name: &AlbumName, description: &str) -> Result<AlbumRecord> {
    let id = uuid::Uuid::new_v4().to_string();
    Ok(db.insert_album(&id, caller.owner.as_deref(), name.as_str(), description).await?)
}

/// The album as the caller may see it (another's: not found).
pub async fn album_for(db: &Db, caller: &Principal, id: &str) -> Result<AlbumRecord> {
    let album = db.get_album(id).await?.ok_or_else(|| Error::not_found(format_args!("album {id}")))?;
    ensure_visible(caller, album.owner.as_deref(), format_args!("album {id}"))?;
    Ok(album)
}

/// The album, if the caller may change it.
async fn managed(db: &Db, caller: &Principal, id: &str) -> Result<AlbumRecord> {
    let album = album_for(db, caller, id).await?;
    ensure_manages(caller, album.owner.as_deref(), "this album")?;
    Ok(album)
}

/// The caller's albums, most recently changed first.
pub async fn list(db: &Db, caller: &Principal) -> Result<Vec<AlbumRecord>> {
    Ok(db.list_albums(caller.owner.as_deref()).await?)
}

/// Renames and describes an album.
pub async fn update(db: &Db, caller: &Principal, id: &str, name: &AlbumName, description: &str) -> Result<()> {
    managed(db, caller, id).await?;
    db.update_album(id, name.as_str(), description).await?;
    Ok(())
}

/// Deletes an album; its photos stay in the library.
pub async fn delete(db: &Db, caller: &Principal, id: &str) -> Result<()> {
    managed(db, caller, id).await?;
    db.delete_album(id).await?;
    Ok(())
}

/// Makes one of the album's photos its cover (`None`: the latest added).
pub async fn set_cover(db: &Db, caller: &Principal, id: &str, image: Option<&str>) -> Result<()> {
    managed(db, caller, id).await?;
    if db.set_album_cover(id, image).await? {
        Ok(())
    } else {
        Err(invalid("the cover must be one of the album's photos"))
    }
}

/// Adds the caller's photos to the album; returns how many were new. Each
/// photo must be visible to the caller and have the album's owner.
pub async fn add(state: &AppState, caller: &Principal, id: &str, images: &[String]) -> Result<u64> {
    let album = managed(&state.db, caller, id).await?;
    if images.len() > 1000 {
        return Err(invalid("add at most 1,000 photos at a time"));
    }
    for image in images {
        let record = state.image_for(caller, image).await?;
        if record.owner != album.owner {
            return Err(Error::new(ErrorKind::Forbidden, format!("image {image} is not the album owner's")));
        }
    }
    let ids: Vec<&str> = images.iter().map(String::as_str).collect();
    Ok(state.db.add_to_album(id, &ids).await?)
}

/// Succeeds when the caller may add photos to the album (an upload into
/// it checks this before its first byte).
pub async fn ensure_adds(db: &Db, caller: &Principal, id: &str) -> Result<()> {
    managed(db, caller, id).await.map(|_| ())
}

/// Adds a photo that just landed (an upload into the album) when the album
/// still exists and has the photo's owner; otherwise only logs why not.
pub async fn add_landed(db: &Db, id: &str, image: &pictor_db::ImageRecord) {
    let added = match db.get_album(id).await {
        Ok(Some(album)) if album.owner == image.owner => db.add_to_album(id, &[image.id.as_str()]).await,
        Ok(_) => {
            tracing::warn!(album = id, image = image.id, "the album of an upload is gone or not its owner's");
            return;
        }
        Err(e) => Err(e),
    };
    if let Err(e) = added {
        tracing::warn!(album = id, image = image.id, error = %e, "adding an uploaded photo to its album failed");
    }
}

/// Takes a photo out of the album (the photo stays in the library).
pub async fn remove(db: &Db, caller: &Principal, id: &str, image: &str) -> Result<()> {
    managed(db, caller, id).await?;
    if db.remove_from_album(id, image).await? {
        Ok(())
    } else {
        Err(Error::not_found(format_args!("image {image} in album {id}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_single_lines() {
        assert_eq!(AlbumName::parse("  Alps 2026 ").unwrap().as_str(), "Alps 2026");
        for bad in ["", "   ", "two\nlines", &"x".repeat(121)] {
            assert_eq!(AlbumName::parse(bad).unwrap_err().kind, ErrorKind::InvalidRequest, "{bad:?}");
        }
        assert!(description(&"y".repeat(2001)).is_err());
        assert_eq!(description(" a trip \n").unwrap(), "a trip");
    }
}

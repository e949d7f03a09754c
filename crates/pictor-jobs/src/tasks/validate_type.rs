//! `pictor:validate-type`: fails with `NotSupportedImageType` unless Pictor can decode the format.

use super::metadata_in;
use pictor_workflow::TaskCall;
use serde_json::{Value, json};

use super::{Task, TaskEnv, TaskResult, fail};

/// The `pictor:validate-type` task.
pub struct ValidateType;

impl Task for ValidateType {
    const NAME: &'static str = "pictor:validate-type";

    async fn run(env: &TaskEnv<'_>, call: &TaskCall) -> TaskResult {
        let _ = env;
        validate_type(&call.input)
    }
}

/// Formats the default workflow accepts: those Pictor can decode.
const SUPPORTED_FORMATS: &[&str] = &["JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP"];

fn validate_type(input: &Value) -> TaskResult {
    let format = metadata_in(input)
        .or(Some(input))
        .and_then(|m| m.get("format"))
        .and_then(Value::as_str)
        .ok_or_else(|| fail("pictor.InvalidInput", "validate-type needs the extracted metadata (a \"format\")"))?;
    if SUPPORTED_FORMATS.contains(&format.to_ascii_uppercase().as_str()) {
        Ok(json!({ "format": format, "supported": true }))
    } else {
        Err(fail(
            "NotSupportedImageType",
            format!("{format} images are not processed; supported: {}", SUPPORTED_FORMATS.join(", ")),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_type_accepts_decodable_formats_only() {
        assert!(validate_type(&json!({"extractedMetadata": {"format": "JPEG"}})).is_ok());
        assert!(validate_type(&json!({"format": "webp"})).is_ok());
        let refused = validate_type(&json!({"format": "HEIC"})).unwrap_err();
        assert_eq!(refused.error, "NotSupportedImageType");
        assert_eq!(validate_type(&json!({})).unwrap_err().error, "pictor.InvalidInput");
    }
}

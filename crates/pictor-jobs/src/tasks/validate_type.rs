//! `pictor:validate-type`: fails with `NotSupportedImageType` unless Pictor can decode the format.

use super::metadata_in;
use pictor_imaging::format::ImageFormat;
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

fn validate_type(input: &Value) -> TaskResult {
    let format = metadata_in(input)
        .or(Some(input))
        .and_then(|m| m.get("format"))
        .and_then(Value::as_str)
        .ok_or_else(|| fail("pictor.InvalidInput", "validate-type needs the extracted metadata (a \"format\")"))?;
    // Every format pictor-imaging recognises, it decodes.
    if ImageFormat::from_name(&format.to_ascii_lowercase()).is_some() {
        Ok(json!({ "format": format, "supported": true }))
    } else {
        let supported: Vec<String> = ImageFormat::ALL.iter().map(|f| f.name().to_ascii_uppercase()).collect();
        Err(fail(
            "NotSupportedImageType",
            format!("{format} images are not processed; supported: {}", supported.join(", ")),
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
        assert!(validate_type(&json!({"format": "HEIC"})).is_ok(), "iPhone photos are processed");
        assert!(validate_type(&json!({"format": "AVIF"})).is_ok());
        let refused = validate_type(&json!({"format": "SVG"})).unwrap_err();
        assert_eq!(refused.error, "NotSupportedImageType");
        assert!(refused.cause.contains("HEIC"), "{}", refused.cause);
        assert_eq!(validate_type(&json!({})).unwrap_err().error, "pictor.InvalidInput");
    }
}

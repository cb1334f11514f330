//! The bindings to the JS host (`action/js/host.cjs`): each function does one piece of I/O.
//! Errors thrown by the host arrive as `JsValue`s; [`message`] reads them.

use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/js/host.cjs")]
extern "C" {
    pub fn env(name: &str) -> Option<String>;
    #[wasm_bindgen(js_name = nowMs)]
    pub fn now_ms() -> f64;
    pub fn print(text: &str);
    #[wasm_bindgen(js_name = printErr)]
    pub fn print_err(text: &str);
    pub fn entry(path: &str) -> u8;
    #[wasm_bindgen(catch)]
    pub fn walk(dir: &str) -> Result<Array, JsValue>;
    #[wasm_bindgen(catch, js_name = readFile)]
    pub fn read_file(path: &str) -> Result<Vec<u8>, JsValue>;
    #[wasm_bindgen(catch, js_name = appendFile)]
    pub fn append_file(path: &str, text: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(js_name = randomBytes)]
    pub fn random_bytes(count: u32) -> Vec<u8>;
    #[wasm_bindgen(js_name = setExitCode)]
    pub fn set_exit_code(code: u8);
    pub fn timer(ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = cancelTimer)]
    pub fn cancel_timer(timer: &JsValue);
    #[wasm_bindgen(js_name = runPlugin)]
    pub fn run_plugin(
        command: &str,
        args: Array,
        env: Array,
        exec_info: &str,
        withheld_names: Array,
        withheld_prefixes: Array,
    ) -> Promise;
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(catch)]
    pub fn connect(
        base: &str,
        ca: Option<Vec<u8>>,
        cert: Option<Vec<u8>>,
        key: Option<Vec<u8>>,
        insecure: bool,
        token: Option<String>,
        user_agent: &str,
    ) -> Result<JsValue, JsValue>;
    pub fn send(
        connection: &JsValue,
        method: &str,
        path: &str,
        content_type: Option<String>,
        body: Option<Vec<u8>>,
        streamed: bool,
        max_bytes: u32,
    ) -> Promise;
    #[wasm_bindgen(js_name = nextChunk)]
    pub fn next_chunk(stream: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = closeStream)]
    pub fn close_stream(stream: &JsValue);
    #[wasm_bindgen(js_name = closeConnections)]
    pub fn close_connections();
}

/// A property of a JS object (`undefined` when missing).
pub fn get(object: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// What a thrown value says: a string, an `Error`'s or a `{message}` object's message.
pub fn message(error: &JsValue) -> String {
    error
        .as_string()
        .or_else(|| get(error, "message").as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}

/// Strings as a JS array.
pub fn strings<'a>(items: impl IntoIterator<Item = &'a str>) -> Array {
    items.into_iter().map(JsValue::from_str).collect()
}

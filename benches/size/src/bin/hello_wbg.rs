//! asyncio's hello world on wasm-bindgen-futures' `spawn_local` and
//! gloo-timers: the peer of `examples/hello.rs` in a browser
//! (`cargo xtask size`).
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod web {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = console)]
        fn log(s: &str);
    }

    #[wasm_bindgen(start)]
    fn start() {
        wasm_bindgen_futures::spawn_local(async {
            log("Hello ...");
            gloo_timers::future::sleep(std::time::Duration::from_secs(1)).await;
            log("... World!");
        });
    }
}

/// Built for the browser only (`main` is `#[wasm_bindgen(start)]` there).
fn main() {}

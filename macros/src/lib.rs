//! Attribute macros of anyloop: `#[anyloop::main]` and `#[anyloop::test]`.
//!
//! Use them through the `anyloop` crate (`anyloop::main`, `anyloop::test`).

mod entry;

use proc_macro::TokenStream;

/// Marks the `async fn main` of a program.
///
/// Natively and on WASI it expands to a `fn main` that calls
/// `anyloop::run`; in the browser to a `#[wasm_bindgen(start)]` function
/// that starts the body with `anyloop::spawn_root`.
///
/// ```ignore
/// #[anyloop::main]
/// async fn main() {
///     println!("hello");
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::main(args.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Marks an `async fn` test that runs on an anyloop event loop: a `#[test]`
/// natively and on WASI, a `#[wasm_bindgen_test]` in the browser.
///
/// In the browser the test crate names `wasm-bindgen-test` itself, as a
/// dev-dependency for `wasm32-unknown-unknown` (anyloop keeps test-only
/// crates out of the runtime's dependencies):
///
/// ```toml
/// [target.'cfg(all(target_arch = "wasm32", target_os = "unknown"))'.dev-dependencies]
/// wasm-bindgen-test = "0.3"
/// ```
///
/// ```ignore
/// #[anyloop::test]
/// async fn sleeps() {
///     anyloop::sleep(std::time::Duration::from_millis(1)).await;
/// }
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::test(args.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

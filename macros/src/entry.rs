use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{Error, ItemFn};

fn parse(args: TokenStream, item: TokenStream, what: &str) -> syn::Result<ItemFn> {
    if !args.is_empty() {
        return Err(Error::new(
            args.span(),
            format!("#[anyloop::{what}] takes no arguments"),
        ));
    }
    let f: ItemFn = syn::parse2(item)?;
    if f.sig.asyncness.is_none() {
        return Err(Error::new(
            f.sig.fn_token.span(),
            format!("#[anyloop::{what}] needs an `async fn`"),
        ));
    }
    if !f.sig.inputs.is_empty() {
        return Err(Error::new(
            f.sig.inputs.span(),
            format!("#[anyloop::{what}] functions take no arguments"),
        ));
    }
    if !f.sig.generics.params.is_empty() {
        return Err(Error::new(
            f.sig.generics.span(),
            format!("#[anyloop::{what}] functions cannot be generic"),
        ));
    }
    Ok(f)
}

const WEB: &str = r#"all(target_arch = "wasm32", target_os = "unknown")"#;

fn web_cfg() -> TokenStream {
    WEB.parse().unwrap_or_default()
}

pub(crate) fn main(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let f = parse(args, item, "main")?;
    let attrs = &f.attrs;
    let vis = &f.vis;
    let name = &f.sig.ident;
    let ret = &f.sig.output;
    let body = &f.block;
    let web = web_cfg();
    // A binary's `fn main` is already the wasm module's start function for
    // wasm-bindgen (exporting it again clashes); any other name (a library's
    // entry point) becomes one through `#[wasm_bindgen(start)]`.
    let start = if name == "main" {
        quote! {}
    } else {
        quote! {
            #[::anyloop::__private::wasm_bindgen::prelude::wasm_bindgen(
                start,
                wasm_bindgen = ::anyloop::__private::wasm_bindgen
            )]
        }
    };
    Ok(quote! {
        #[cfg(not(#web))]
        #(#attrs)*
        #vis fn #name() #ret {
            ::anyloop::run(async move #body)
        }

        #[cfg(#web)]
        #(#attrs)*
        #start
        #[allow(clippy::main_recursion)]
        #vis fn #name() {
            async fn __anyloop_main() #ret #body
            ::anyloop::__private::start_main(__anyloop_main());
        }
    })
}

pub(crate) fn test(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let f = parse(args, item, "test")?;
    let attrs = &f.attrs;
    let vis = &f.vis;
    let name = &f.sig.ident;
    let ret = &f.sig.output;
    let body = &f.block;
    let web = web_cfg();
    Ok(quote! {
        #[cfg(not(#web))]
        #[::core::prelude::v1::test]
        #(#attrs)*
        #vis fn #name() #ret {
            ::anyloop::__private::run_test(async move #body)
        }

        #[cfg(#web)]
        #[::wasm_bindgen_test::wasm_bindgen_test]
        #(#attrs)*
        #vis async fn #name() #ret {
            ::anyloop::__private::run_test_web(async move #body).await
        }
    })
}

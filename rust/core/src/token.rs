//! Token id element types for output arrays (int32 by default, smaller on request).

/// An integer type token ids can be written as.
pub trait TokenId: Copy + Send + Sync + Default + 'static {
    /// The largest id this type can hold.
    const MAX_ID: u64;
    fn from_id(id: u32) -> Self;
    /// The id back as an unsigned integer (ids written by kleene are never negative).
    fn to_id(self) -> u64;
}

macro_rules! token_id {
    ($t:ty) => {
        impl TokenId for $t {
            const MAX_ID: u64 = <$t>::MAX as u64;
            #[inline(always)]
            fn from_id(id: u32) -> Self {
                id as $t
            }
            #[inline(always)]
            fn to_id(self) -> u64 {
                self as u64
            }
        }
    };
}

token_id!(u8);
token_id!(u16);
token_id!(i16);
token_id!(i32);
token_id!(i64);

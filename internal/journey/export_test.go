package journey

// RecommendCached exposes the order page's cached recommendations to the
// external tests, which compare them with the live Recommend.
var RecommendCached = (*Engine).recommendCached

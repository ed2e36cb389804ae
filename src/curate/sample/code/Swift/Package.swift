// swift-tools-version:5.9
import PackageDescription

let package = Package(
    name: "WeatherKit",
    platforms: [.iOS(.v16), .macOS(.v13)],
    products: [.library(name: "WeatherKit", targets: ["WeatherKit"])],
    targets: [.target(name: "WeatherKit"), .testTarget(name: "WeatherKitTests", dependencies: ["WeatherKit"])]
)

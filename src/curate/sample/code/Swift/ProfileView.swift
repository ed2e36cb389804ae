import SwiftUI

struct ProfileView: View {
    let name: String
    @State private var followers = 0

    var body: some View {
        VStack(spacing: 12) {
            Image(systemName: "person.circle").font(.system(size: 64))
            Text(name).font(.title)
            Text("\(followers) followers")
            Button("Follow") { followers += 1 }
                .buttonStyle(.borderedProminent)
        }
        .padding()
    }
}

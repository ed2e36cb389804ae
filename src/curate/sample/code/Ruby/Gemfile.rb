source "https://rubygems.org"

ruby "3.3.0"

gem "rails", "~> 7.1"
gem "pg", "~> 1.5"
gem "puma", ">= 6.0"

group :development, :test do
  gem "rspec-rails"
end

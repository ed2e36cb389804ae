# Blocks and iterators in Ruby.
#
# A block is a chunk of code passed to a method, written between do...end or
# braces. Methods such as each, map and select call the block once per element.

numbers = [3, 8, 1, 12, 7]

# each: run the block for every element (used for side effects like printing).
numbers.each do |n|
  puts "saw #{n}"
end

# map: build a new array from the block's return values.
doubled = numbers.map { |n| n * 2 }
p doubled # => [6, 16, 2, 24, 14]

# select: keep the elements for which the block returns true.
big = numbers.select { |n| n > 5 }
p big # => [8, 12, 7]

# reduce: combine all elements into one value; here the running total
# starts at 0 and the block adds each element to it.
p numbers.reduce(0) { |sum, n| sum + n } # => 31

# Writing your own iterator: `yield` calls the block the caller passed in.
def twice
  yield 1
  yield 2
end

twice { |round| puts "round #{round}" }

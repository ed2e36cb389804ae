class Invoice
  Line = Struct.new(:description, :quantity, :unit_price)

  def initialize(customer)
    @customer = customer
    @lines = []
  end

  def add(description, quantity, unit_price)
    @lines << Line.new(description, quantity, unit_price)
    self
  end

  def total
    @lines.sum { |l| l.quantity * l.unit_price }
  end

  def to_s
    rows = @lines.map { |l| format("%-20s %3d x %8.2f", l.description, l.quantity, l.unit_price) }
    (["Invoice for #{@customer}"] + rows + [format("TOTAL %.2f", total)]).join("\n")
  end
end

puts Invoice.new("Acme").add("Widget", 3, 4.5).add("Gadget", 1, 12.0)

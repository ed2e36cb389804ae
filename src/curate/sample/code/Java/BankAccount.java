/**
 * A simple bank account that demonstrates encapsulation.
 *
 * <p>The balance is private, so code outside this class cannot set it to any
 * value it likes. The only way to change it is through deposit() and
 * withdraw(), which check their input. This keeps every account in a valid
 * state: the balance can never become negative.
 */
public class BankAccount {
    private final String owner;
    private double balance; // private: only this class may change it

    public BankAccount(String owner) {
        this.owner = owner;
        this.balance = 0.0; // every new account starts empty
    }

    /** Adds money; rejects zero or negative amounts. */
    public void deposit(double amount) {
        if (amount <= 0) {
            throw new IllegalArgumentException("Deposit must be positive");
        }
        balance += amount;
    }

    /** Removes money if there is enough; returns false otherwise. */
    public boolean withdraw(double amount) {
        if (amount <= 0 || amount > balance) {
            return false; // refuse instead of going negative
        }
        balance -= amount;
        return true;
    }

    /** A "getter": other classes may read the balance but not write it. */
    public double getBalance() {
        return balance;
    }

    public static void main(String[] args) {
        BankAccount account = new BankAccount("Ada");
        account.deposit(50);
        System.out.println(account.withdraw(80)); // false: not enough money
        System.out.println(account.withdraw(20)); // true
        System.out.println(account.getBalance()); // 30.0
    }
}

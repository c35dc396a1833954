"""Small handwritten source dictionaries: cities, names, streets, states and the product catalogue.

The reference generator shipped larger dictionaries (reference spec §3); these are written for this
project. Everything else (10,000 products, 400,000 customers, addresses) is combined from them
deterministically by ``world.py``.
"""

from __future__ import annotations

# (city, state, zip, latitude, longitude, metro) — lower-48 cities, so every store is in a zone
# within an hour of its distribution centre's.
CITIES: tuple[tuple[str, str, str, float, float, bool], ...] = (
    ("Seattle", "WA", "98101", 47.61, -122.33, True),
    ("Tacoma", "WA", "98402", 47.25, -122.44, True),
    ("Spokane", "WA", "99201", 47.66, -117.43, False),
    ("Portland", "OR", "97201", 45.52, -122.68, True),
    ("Eugene", "OR", "97401", 44.05, -123.09, False),
    ("Salem", "OR", "97301", 44.94, -123.04, False),
    ("San Francisco", "CA", "94103", 37.77, -122.42, True),
    ("Oakland", "CA", "94607", 37.80, -122.27, True),
    ("San Jose", "CA", "95113", 37.34, -121.89, True),
    ("Sacramento", "CA", "95814", 38.58, -121.49, True),
    ("Fresno", "CA", "93721", 36.74, -119.79, False),
    ("Los Angeles", "CA", "90012", 34.05, -118.24, True),
    ("Long Beach", "CA", "90802", 33.77, -118.19, True),
    ("Anaheim", "CA", "92805", 33.84, -117.91, True),
    ("San Diego", "CA", "92101", 32.72, -117.16, True),
    ("Bakersfield", "CA", "93301", 35.37, -119.02, False),
    ("Las Vegas", "NV", "89101", 36.17, -115.14, True),
    ("Reno", "NV", "89501", 39.53, -119.81, False),
    ("Boise", "ID", "83702", 43.62, -116.20, False),
    ("Salt Lake City", "UT", "84101", 40.76, -111.89, True),
    ("Provo", "UT", "84601", 40.23, -111.66, False),
    ("Denver", "CO", "80202", 39.74, -104.99, True),
    ("Colorado Springs", "CO", "80903", 38.83, -104.82, False),
    ("Fort Collins", "CO", "80521", 40.59, -105.08, False),
    ("Billings", "MT", "59101", 45.78, -108.50, False),
    ("Cheyenne", "WY", "82001", 41.14, -104.82, False),
    ("Phoenix", "AZ", "85004", 33.45, -112.07, True),
    ("Tucson", "AZ", "85701", 32.22, -110.97, False),
    ("Mesa", "AZ", "85201", 33.42, -111.83, True),
    ("Albuquerque", "NM", "87102", 35.08, -106.65, False),
    ("Santa Fe", "NM", "87501", 35.69, -105.94, False),
    ("Dallas", "TX", "75201", 32.78, -96.80, True),
    ("Fort Worth", "TX", "76102", 32.76, -97.33, True),
    ("Houston", "TX", "77002", 29.76, -95.37, True),
    ("San Antonio", "TX", "78205", 29.42, -98.49, True),
    ("Austin", "TX", "78701", 30.27, -97.74, True),
    ("El Paso", "TX", "79901", 31.76, -106.49, False),
    ("Lubbock", "TX", "79401", 33.58, -101.86, False),
    ("Oklahoma City", "OK", "73102", 35.47, -97.52, True),
    ("Tulsa", "OK", "74103", 36.15, -95.99, False),
    ("Wichita", "KS", "67202", 37.69, -97.34, False),
    ("Kansas City", "MO", "64106", 39.10, -94.58, True),
    ("St. Louis", "MO", "63101", 38.63, -90.20, True),
    ("Springfield", "MO", "65806", 37.21, -93.29, False),
    ("Omaha", "NE", "68102", 41.26, -95.93, True),
    ("Lincoln", "NE", "68508", 40.81, -96.70, False),
    ("Des Moines", "IA", "50309", 41.59, -93.62, False),
    ("Cedar Rapids", "IA", "52401", 41.98, -91.67, False),
    ("Minneapolis", "MN", "55401", 44.98, -93.27, True),
    ("St. Paul", "MN", "55101", 44.95, -93.09, True),
    ("Sioux Falls", "SD", "57104", 43.55, -96.73, False),
    ("Fargo", "ND", "58102", 46.88, -96.79, False),
    ("Milwaukee", "WI", "53202", 43.04, -87.91, True),
    ("Madison", "WI", "53703", 43.07, -89.40, False),
    ("Chicago", "IL", "60601", 41.88, -87.63, True),
    ("Naperville", "IL", "60540", 41.75, -88.15, True),
    ("Peoria", "IL", "61602", 40.69, -89.59, False),
    ("Indianapolis", "IN", "46204", 39.77, -86.16, True),
    ("Fort Wayne", "IN", "46802", 41.08, -85.14, False),
    ("Detroit", "MI", "48226", 42.33, -83.05, True),
    ("Grand Rapids", "MI", "49503", 42.96, -85.67, False),
    ("Lansing", "MI", "48933", 42.73, -84.56, False),
    ("Columbus", "OH", "43215", 39.96, -83.00, True),
    ("Cleveland", "OH", "44113", 41.50, -81.69, True),
    ("Cincinnati", "OH", "45202", 39.10, -84.51, True),
    ("Toledo", "OH", "43604", 41.65, -83.54, False),
    ("Louisville", "KY", "40202", 38.25, -85.76, True),
    ("Lexington", "KY", "40507", 38.04, -84.50, False),
    ("Nashville", "TN", "37203", 36.16, -86.78, True),
    ("Memphis", "TN", "38103", 35.15, -90.05, True),
    ("Knoxville", "TN", "37902", 35.96, -83.92, False),
    ("Little Rock", "AR", "72201", 34.75, -92.29, False),
    ("New Orleans", "LA", "70112", 29.95, -90.07, True),
    ("Baton Rouge", "LA", "70802", 30.45, -91.19, False),
    ("Jackson", "MS", "39201", 32.30, -90.18, False),
    ("Birmingham", "AL", "35203", 33.52, -86.80, True),
    ("Huntsville", "AL", "35801", 34.73, -86.59, False),
    ("Atlanta", "GA", "30303", 33.75, -84.39, True),
    ("Savannah", "GA", "31401", 32.08, -81.09, False),
    ("Jacksonville", "FL", "32202", 30.33, -81.66, True),
    ("Orlando", "FL", "32801", 28.54, -81.38, True),
    ("Tampa", "FL", "33602", 27.95, -82.46, True),
    ("Miami", "FL", "33130", 25.76, -80.19, True),
    ("Tallahassee", "FL", "32301", 30.44, -84.28, False),
    ("Charleston", "SC", "29401", 32.78, -79.93, False),
    ("Columbia", "SC", "29201", 34.00, -81.03, False),
    ("Charlotte", "NC", "28202", 35.23, -80.84, True),
    ("Raleigh", "NC", "27601", 35.78, -78.64, True),
    ("Greensboro", "NC", "27401", 36.07, -79.79, False),
    ("Richmond", "VA", "23219", 37.54, -77.44, True),
    ("Virginia Beach", "VA", "23451", 36.85, -75.98, True),
    ("Charleston", "WV", "25301", 38.35, -81.63, False),
    ("Baltimore", "MD", "21202", 39.29, -76.61, True),
    ("Wilmington", "DE", "19801", 39.74, -75.55, False),
    ("Philadelphia", "PA", "19107", 39.95, -75.16, True),
    ("Pittsburgh", "PA", "15222", 40.44, -80.00, True),
    ("Harrisburg", "PA", "17101", 40.27, -76.88, False),
    ("Newark", "NJ", "07102", 40.74, -74.17, True),
    ("Jersey City", "NJ", "07302", 40.72, -74.05, True),
    ("New York", "NY", "10001", 40.75, -73.99, True),
    ("Brooklyn", "NY", "11201", 40.69, -73.99, True),
    ("Buffalo", "NY", "14202", 42.89, -78.88, True),
    ("Albany", "NY", "12207", 42.65, -73.76, False),
    ("Rochester", "NY", "14604", 43.16, -77.61, False),
    ("Hartford", "CT", "06103", 41.76, -72.68, False),
    ("Providence", "RI", "02903", 41.82, -71.41, True),
    ("Boston", "MA", "02108", 42.36, -71.06, True),
    ("Worcester", "MA", "01608", 42.26, -71.80, False),
    ("Manchester", "NH", "03101", 42.99, -71.46, False),
    ("Burlington", "VT", "05401", 44.48, -73.21, False),
    ("Portland", "ME", "04101", 43.66, -70.26, False),
)

REGION_OF_STATE: dict[str, str] = {
    **dict.fromkeys(("WA", "OR", "CA", "NV", "ID", "MT", "WY", "UT", "CO"), "West"),
    **dict.fromkeys(("AZ", "NM", "TX", "OK"), "Southwest"),
    **dict.fromkeys(("ND", "SD", "NE", "KS", "MN", "IA", "MO", "WI", "IL", "MI", "IN", "OH"), "Midwest"),
    **dict.fromkeys(("AR", "LA", "MS", "AL", "TN", "KY", "GA", "FL", "SC", "NC", "VA", "WV"), "Southeast"),
    **dict.fromkeys(("PA", "NY", "NJ", "CT", "RI", "MA", "VT", "NH", "ME", "DE", "MD"), "Northeast"),
}

TIME_ZONE_OF_STATE: dict[str, str] = {
    **dict.fromkeys(("WA", "OR", "CA", "NV"), "America/Los_Angeles"),
    **dict.fromkeys(("ID", "MT", "WY", "UT", "CO", "NM"), "America/Denver"),
    "AZ": "America/Phoenix",
    **dict.fromkeys(
        ("TX", "OK", "KS", "MO", "NE", "IA", "MN", "SD", "ND", "WI", "IL", "AR", "LA", "MS", "AL", "TN"),
        "America/Chicago",
    ),
    "IN": "America/Indiana/Indianapolis",
    "MI": "America/Detroit",
    "KY": "America/Kentucky/Louisville",
    **dict.fromkeys(
        ("OH", "GA", "FL", "SC", "NC", "VA", "WV", "MD", "DE", "PA", "NJ", "NY", "CT", "RI", "MA", "VT", "NH", "ME"),
        "America/New_York",
    ),
}

# Approximate combined state + average local sales tax, basis points.
STATE_TAX_BPS: dict[str, int] = {
    "WA": 1010, "OR": 0, "CA": 885, "NV": 823, "ID": 603, "MT": 0, "WY": 536, "UT": 719, "CO": 777,
    "AZ": 840, "NM": 772, "TX": 820, "OK": 899, "KS": 869, "MO": 829, "NE": 694, "IA": 694, "MN": 749,
    "SD": 611, "ND": 696, "WI": 543, "IL": 885, "IN": 700, "MI": 600, "OH": 723, "KY": 600, "TN": 955,
    "AR": 947, "LA": 955, "MS": 707, "AL": 924, "GA": 735, "FL": 700, "SC": 746, "NC": 698, "VA": 575,
    "WV": 651, "MD": 600, "DE": 0, "PA": 634, "NJ": 663, "NY": 852, "CT": 635, "RI": 700, "MA": 625,
    "VT": 624, "NH": 0, "ME": 550,
}  # fmt: skip

FIRST_NAMES: tuple[str, ...] = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony", "Sandra", "Mark", "Margaret",
    "Donald", "Ashley", "Steven", "Kimberly", "Andrew", "Emily", "Paul", "Donna", "Joshua", "Michelle",
    "Kenneth", "Carol", "Kevin", "Amanda", "Brian", "Melissa", "George", "Deborah", "Timothy", "Stephanie",
    "Ronald", "Rebecca", "Jason", "Sharon", "Edward", "Laura", "Jeffrey", "Cynthia", "Ryan", "Amy",
    "Jacob", "Kathleen", "Gary", "Angela", "Nicholas", "Shirley", "Eric", "Emma", "Jonathan", "Brenda",
    "Stephen", "Pamela", "Larry", "Nicole", "Justin", "Anna", "Scott", "Samantha", "Brandon", "Katherine",
    "Benjamin", "Christine", "Samuel", "Debra", "Gregory", "Rachel", "Alexander", "Carolyn", "Patrick", "Janet",
    "Frank", "Maria", "Raymond", "Olivia", "Jack", "Heather", "Dennis", "Helen", "Jerry", "Catherine",
    "Tyler", "Diane", "Aaron", "Julie", "Jose", "Victoria", "Adam", "Joyce", "Nathan", "Lauren",
    "Henry", "Kelly", "Zachary", "Christina", "Douglas", "Ruth", "Peter", "Joan", "Kyle", "Virginia",
    "Noah", "Judith", "Ethan", "Evelyn", "Jeremy", "Hannah", "Walter", "Andrea", "Christian", "Megan",
    "Keith", "Cheryl", "Roger", "Jacqueline", "Terry", "Madison", "Austin", "Teresa", "Sean", "Abigail",
    "Gerald", "Sophia", "Carl", "Martha", "Harold", "Sara", "Dylan", "Gloria", "Arthur", "Janice",
    "Lawrence", "Kathryn", "Jordan", "Ann", "Jesse", "Isabella", "Bryan", "Judy", "Billy", "Charlotte",
    "Bruce", "Julia", "Gabriel", "Grace", "Joe", "Amber", "Logan", "Alice", "Alan", "Jean",
    "Juan", "Denise", "Albert", "Frances", "Willie", "Danielle", "Elijah", "Marilyn", "Wayne", "Natalie",
    "Randy", "Beverly", "Vincent", "Diana", "Mason", "Brittany", "Roy", "Theresa", "Ralph", "Kayla",
    "Bobby", "Alexis", "Russell", "Doris", "Bradley", "Lori", "Philip", "Tiffany", "Eugene", "Mia",
)  # fmt: skip

LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
    "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
    "Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes",
    "Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper",
    "Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson",
    "Watson", "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes",
    "Price", "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez",
    "Powell", "Jenkins", "Perry", "Russell", "Sullivan", "Bell", "Coleman", "Butler", "Henderson", "Barnes",
    "Gonzales", "Fisher", "Vasquez", "Simmons", "Romero", "Jordan", "Patterson", "Alexander", "Hamilton", "Graham",
    "Reynolds", "Griffin", "Wallace", "Moreno", "West", "Cole", "Hayes", "Bryant", "Herrera", "Gibson",
    "Ellis", "Tran", "Medina", "Aguilar", "Stevens", "Murray", "Ford", "Castro", "Marshall", "Owens",
    "Harrison", "Fernandez", "McDonald", "Woods", "Washington", "Kennedy", "Wells", "Vargas", "Henry", "Chen",
    "Freeman", "Webb", "Tucker", "Guzman", "Burns", "Crawford", "Olson", "Simpson", "Porter", "Hunter",
)  # fmt: skip

STREET_NAMES: tuple[str, ...] = (
    "Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park",
    "Walnut", "Sunset", "Lincoln", "Jackson", "Highland", "Church", "River", "Spring", "Meadow", "Forest",
    "Center", "Franklin", "Madison", "Willow", "Chestnut", "Ridge", "Valley", "Mill", "Broad", "Adams",
    "Jefferson", "Cherry", "Birch", "Hickory", "Prospect", "Union", "Liberty", "Market", "Harbor", "Summit",
    "Industrial", "Commerce",
)  # fmt: skip
STREET_TYPES: tuple[str, ...] = ("St", "Ave", "Blvd", "Dr", "Ln", "Ct", "Pl", "Way", "Rd", "Pkwy")
STREET_PREFIXES: tuple[str, ...] = ("", "", "", "", "", "", "N ", "S ", "E ", "W ")

# Departments, in the order used by every department-indexed array.
DEPARTMENTS: tuple[str, ...] = (
    "Grocery",
    "Household",
    "Health & Beauty",
    "Home & Garden",
    "Electronics",
    "Clothing",
    "Baby & Kids",
    "Pet Supplies",
    "Automotive",
    "Office Supplies",
    "Sports & Recreation",
    "Seasonal",
)
FOOD_DEPARTMENTS = frozenset({"Grocery"})
REDUCED_RATE_DEPARTMENTS = frozenset({"Clothing"})
REFRIGERATED_CATEGORIES = frozenset({"Dairy", "Meat & Seafood", "Frozen", "Produce"})

# Share of the catalogue's products in each department.
DEPARTMENT_PRODUCT_SHARE: dict[str, float] = {
    "Grocery": 0.46, "Household": 0.08, "Health & Beauty": 0.09, "Home & Garden": 0.07, "Electronics": 0.05,
    "Clothing": 0.07, "Baby & Kids": 0.05, "Pet Supplies": 0.04, "Automotive": 0.02, "Office Supplies": 0.03,
    "Sports & Recreation": 0.02, "Seasonal": 0.02,
}  # fmt: skip

# department -> category -> subcategory -> [(item, low price $, high price $, popularity, tags)]
Item = tuple[str, float, float, float, str]
CATALOG: dict[str, dict[str, dict[str, list[Item]]]] = {
    "Grocery": {
        "Produce": {
            "Fruit": [("Bananas", 0.59, 1.99, 5, ""), ("Apples", 1.49, 4.99, 4, ""), ("Strawberries", 2.49, 5.99, 3, "valentine"),
                      ("Grapes", 2.29, 5.49, 3, ""), ("Oranges", 1.99, 5.99, 3, ""), ("Avocados", 0.99, 4.99, 3, "")],
            "Vegetables": [("Potatoes", 2.49, 6.99, 4, "thanksgiving"), ("Carrots", 0.99, 2.99, 3, ""), ("Lettuce", 1.49, 3.49, 3, ""),
                           ("Tomatoes", 1.49, 3.99, 3, "grill"), ("Onions", 0.99, 3.49, 3, ""), ("Sweet Potatoes", 1.29, 3.99, 2, "thanksgiving"),
                           ("Corn on the Cob", 0.50, 3.99, 2, "grill"), ("Fresh Pumpkin", 3.99, 7.99, 1, "halloween;thanksgiving")],
        },
        "Dairy": {
            "Milk": [("Whole Milk", 2.49, 4.99, 5, ""), ("2% Milk", 2.49, 4.99, 5, ""), ("Almond Milk", 2.99, 4.99, 2, ""),
                     ("Oat Milk", 3.49, 5.49, 2, "")],
            "Cheese": [("Cheddar Cheese", 2.99, 7.99, 3, "grill"), ("Mozzarella", 2.99, 6.99, 3, ""), ("Cream Cheese", 1.99, 4.49, 2, "baking")],
            "Eggs & Butter": [("Large Eggs", 2.49, 6.99, 5, "baking"), ("Butter", 3.49, 6.99, 3, "baking;thanksgiving")],
            "Yogurt": [("Greek Yogurt", 0.99, 6.99, 3, ""), ("Yogurt Cups", 0.69, 4.99, 3, "")],
        },
        "Meat & Seafood": {
            "Beef": [("Ground Beef", 4.99, 9.99, 4, "grill"), ("Ribeye Steak", 9.99, 24.99, 2, "grill"), ("Beef Roast", 9.99, 19.99, 1, "christmas")],
            "Poultry": [("Chicken Breast", 5.99, 12.99, 4, "grill"), ("Chicken Wings", 6.99, 14.99, 2, "grill"),
                        ("Whole Turkey", 14.99, 39.99, 1, "thanksgiving;christmas")],
            "Pork": [("Bacon", 4.99, 8.99, 3, ""), ("Pork Chops", 4.99, 10.99, 2, "grill"), ("Spiral Ham", 19.99, 44.99, 1, "christmas;easter"),
                     ("Hot Dogs", 2.99, 6.49, 2, "grill")],
            "Seafood": [("Salmon Fillet", 8.99, 16.99, 2, ""), ("Shrimp", 7.99, 15.99, 2, "")],
        },
        "Bakery": {
            "Bread": [("Sandwich Bread", 1.99, 4.49, 5, ""), ("Hamburger Buns", 1.99, 3.99, 2, "grill"), ("Dinner Rolls", 2.49, 4.99, 2, "thanksgiving;christmas")],
            "Desserts": [("Pumpkin Pie", 5.99, 11.99, 1, "thanksgiving"), ("Cookies", 2.99, 5.99, 3, "christmas"), ("Birthday Cake", 12.99, 29.99, 1, "")],
        },
        "Pantry": {
            "Canned Goods": [("Canned Soup", 0.99, 3.49, 3, ""), ("Canned Beans", 0.79, 2.49, 3, ""), ("Cranberry Sauce", 1.49, 3.49, 1, "thanksgiving"),
                             ("Canned Pumpkin", 1.49, 3.99, 1, "thanksgiving;baking")],
            "Baking": [("All-Purpose Flour", 2.49, 5.99, 2, "baking;christmas"), ("Granulated Sugar", 2.49, 5.49, 2, "baking;christmas"),
                       ("Chocolate Chips", 2.49, 4.99, 2, "baking;christmas"), ("Stuffing Mix", 1.99, 3.99, 1, "thanksgiving")],
            "Pasta & Rice": [("Spaghetti", 0.99, 2.99, 3, ""), ("Long Grain Rice", 1.99, 6.99, 3, ""), ("Mac & Cheese", 0.89, 2.49, 3, "")],
            "Condiments": [("Ketchup", 1.99, 4.49, 2, "grill"), ("Mustard", 1.49, 3.49, 2, "grill"), ("BBQ Sauce", 1.99, 4.99, 2, "grill"),
                           ("Mayonnaise", 2.99, 5.99, 2, ""), ("Peanut Butter", 2.49, 5.99, 3, "")],
            "Breakfast": [("Breakfast Cereal", 2.99, 5.99, 4, ""), ("Oatmeal", 2.49, 4.99, 2, ""), ("Pancake Mix", 1.99, 4.49, 2, "")],
        },
        "Snacks": {
            "Chips": [("Potato Chips", 2.49, 5.49, 4, "grill"), ("Tortilla Chips", 2.49, 4.99, 3, "grill"), ("Pretzels", 2.29, 4.49, 2, "")],
            "Candy": [("Chocolate Bar", 0.99, 3.99, 3, "valentine"), ("Halloween Candy Bag", 3.99, 12.99, 1, "halloween"),
                      ("Candy Hearts", 1.49, 3.99, 1, "valentine"), ("Candy Canes", 1.49, 3.99, 1, "christmas")],
            "Nuts & Crackers": [("Mixed Nuts", 4.99, 9.99, 2, ""), ("Crackers", 2.49, 4.49, 3, "")],
        },
        "Beverages": {
            "Soft Drinks": [("Cola", 1.25, 7.99, 5, "grill"), ("Lemon-Lime Soda", 1.25, 7.99, 3, "grill"), ("Sparkling Water", 0.99, 5.99, 3, "")],
            "Water & Juice": [("Bottled Water", 0.99, 6.99, 5, ""), ("Orange Juice", 2.99, 5.99, 3, ""), ("Apple Juice", 2.49, 4.99, 2, "")],
            "Coffee & Tea": [("Ground Coffee", 5.99, 12.99, 3, ""), ("Coffee Pods", 7.99, 15.99, 2, ""), ("Black Tea", 2.99, 5.99, 2, "")],
            "Sports Drinks": [("Sports Drink", 1.29, 6.99, 2, ""), ("Energy Drink", 1.99, 3.99, 2, "")],
        },
        "Frozen": {
            "Frozen Meals": [("Frozen Pizza", 3.99, 8.99, 3, ""), ("Frozen Dinner", 2.49, 5.99, 3, ""), ("Frozen Burritos", 1.29, 6.99, 2, "")],
            "Frozen Treats": [("Ice Cream", 3.49, 7.49, 3, "grill"), ("Frozen Fruit Bars", 2.99, 5.99, 2, "")],
            "Frozen Vegetables": [("Frozen Peas", 1.29, 3.49, 2, ""), ("Frozen Green Beans", 1.29, 3.49, 2, "thanksgiving")],
        },
    },
    "Household": {
        "Paper Goods": {
            "Paper": [("Paper Towels", 5.99, 19.99, 4, ""), ("Toilet Paper", 5.99, 24.99, 4, ""), ("Paper Plates", 2.99, 9.99, 2, "grill;thanksgiving")],
        },
        "Cleaning": {
            "Laundry": [("Laundry Detergent", 6.99, 19.99, 3, ""), ("Fabric Softener", 4.99, 9.99, 2, "")],
            "Kitchen Cleaning": [("Dish Soap", 1.99, 4.99, 3, ""), ("Dishwasher Pods", 6.99, 17.99, 2, ""), ("Trash Bags", 5.99, 14.99, 3, ""),
                                 ("All-Purpose Cleaner", 2.99, 5.99, 2, "")],
        },
        "Storage": {"Food Storage": [("Aluminum Foil", 3.49, 8.99, 2, "grill;thanksgiving"), ("Zip Bags", 2.99, 6.99, 2, "")]},
    },
    "Health & Beauty": {
        "Personal Care": {
            "Hair Care": [("Shampoo", 3.99, 11.99, 3, ""), ("Conditioner", 3.99, 11.99, 2, "")],
            "Oral Care": [("Toothpaste", 2.49, 6.99, 3, ""), ("Toothbrush", 1.99, 8.99, 2, "")],
            "Body Care": [("Body Wash", 3.99, 9.99, 2, ""), ("Deodorant", 2.99, 7.99, 3, ""), ("Sunscreen", 6.99, 14.99, 1, "summer")],
        },
        "Medicine": {
            "Pain Relief": [("Pain Reliever", 4.99, 14.99, 2, ""), ("Cold & Flu Relief", 6.99, 14.99, 2, "winter")],
            "Vitamins": [("Multivitamin", 7.99, 19.99, 2, ""), ("Vitamin D", 5.99, 12.99, 1, "")],
        },
        "Cosmetics": {"Makeup": [("Lipstick", 4.99, 14.99, 1, "valentine"), ("Mascara", 5.99, 14.99, 1, ""), ("Nail Polish", 2.99, 9.99, 1, "")]},
    },
    "Home & Garden": {
        "Kitchen": {
            "Cookware": [("Nonstick Skillet", 14.99, 49.99, 1, "christmas"), ("Cookware Set", 49.99, 199.99, 1, "christmas"),
                         ("Roasting Pan", 14.99, 39.99, 1, "thanksgiving")],
            "Tableware": [("Dinnerware Set", 29.99, 99.99, 1, ""), ("Drinking Glasses", 9.99, 29.99, 1, "")],
        },
        "Decor": {
            "Home Decor": [("Scented Candle", 4.99, 19.99, 2, "christmas"), ("Picture Frame", 5.99, 24.99, 1, ""), ("Throw Pillow", 9.99, 29.99, 1, "")],
            "Holiday Decor": [("String Lights", 7.99, 29.99, 1, "christmas"), ("Wreath", 14.99, 49.99, 1, "christmas"),
                              ("Halloween Decoration", 4.99, 39.99, 1, "halloween")],
        },
        "Garden": {
            "Outdoor": [("Potting Soil", 4.99, 14.99, 1, "spring"), ("Garden Hose", 14.99, 49.99, 1, "spring"), ("Charcoal", 7.99, 19.99, 1, "grill"),
                        ("Gas Grill", 149.99, 499.99, 1, "grill")],
        },
    },
    "Electronics": {
        "TV & Video": {"Televisions": [("LED TV", 179.99, 899.99, 1, "blackfriday"), ("Streaming Stick", 24.99, 59.99, 1, "blackfriday;christmas")]},
        "Audio": {"Headphones": [("Wireless Earbuds", 29.99, 199.99, 1, "blackfriday;christmas"), ("Bluetooth Speaker", 24.99, 149.99, 1, "christmas")]},
        "Computing": {"Computers": [("Laptop", 299.99, 1199.99, 1, "blackfriday;back_to_school"), ("Tablet", 99.99, 499.99, 1, "blackfriday;christmas")]},
        "Accessories": {"Mobile Accessories": [("Phone Charger", 9.99, 29.99, 2, ""), ("USB Cable", 5.99, 19.99, 2, ""), ("Batteries", 4.99, 19.99, 2, "christmas")]},
        "Gaming": {"Video Games": [("Video Game", 19.99, 69.99, 1, "blackfriday;christmas"), ("Game Controller", 29.99, 69.99, 1, "christmas")]},
    },
    "Clothing": {
        "Men": {"Men's Apparel": [("Men's T-Shirt", 5.99, 24.99, 2, ""), ("Men's Jeans", 19.99, 59.99, 1, "back_to_school"), ("Men's Jacket", 29.99, 99.99, 1, "winter")]},
        "Women": {"Women's Apparel": [("Women's Top", 7.99, 29.99, 2, ""), ("Women's Leggings", 9.99, 34.99, 1, ""), ("Women's Sweater", 19.99, 59.99, 1, "winter;christmas")]},
        "Kids": {"Kids' Apparel": [("Kids' T-Shirt", 4.99, 14.99, 1, "back_to_school"), ("Kids' Jeans", 9.99, 24.99, 1, "back_to_school"),
                                   ("Halloween Costume", 14.99, 39.99, 1, "halloween")]},
        "Shoes": {"Footwear": [("Sneakers", 24.99, 89.99, 1, "back_to_school"), ("Socks", 4.99, 14.99, 2, "")]},
    },
    "Baby & Kids": {
        "Baby Care": {"Diapering": [("Diapers", 9.99, 44.99, 3, ""), ("Baby Wipes", 2.99, 12.99, 3, "")],
                      "Feeding": [("Baby Formula", 14.99, 39.99, 2, ""), ("Baby Food", 0.99, 2.99, 2, "")]},
        "Toys": {"Toys": [("Action Figure", 9.99, 29.99, 1, "christmas;blackfriday"), ("Doll", 9.99, 39.99, 1, "christmas;blackfriday"),
                          ("Board Game", 14.99, 39.99, 1, "christmas"), ("Building Blocks Set", 19.99, 79.99, 1, "christmas;blackfriday")]},
    },
    "Pet Supplies": {
        "Dog": {"Dog Supplies": [("Dry Dog Food", 9.99, 54.99, 3, ""), ("Dog Treats", 3.99, 12.99, 2, ""), ("Dog Toy", 4.99, 14.99, 1, "christmas")]},
        "Cat": {"Cat Supplies": [("Dry Cat Food", 7.99, 29.99, 3, ""), ("Cat Litter", 7.99, 19.99, 2, ""), ("Cat Treats", 2.49, 6.99, 1, "")]},
    },
    "Automotive": {
        "Car Care": {"Maintenance": [("Motor Oil", 5.99, 34.99, 1, ""), ("Wiper Blades", 9.99, 29.99, 1, "winter"), ("Windshield Fluid", 2.99, 5.99, 1, "winter")],
                     "Cleaning": [("Car Wash Soap", 4.99, 12.99, 1, "summer"), ("Air Freshener", 1.99, 5.99, 1, "")]},
    },
    "Office Supplies": {
        "School & Office": {"Paper Products": [("Spiral Notebook", 0.99, 4.99, 2, "back_to_school"), ("Printer Paper", 5.99, 39.99, 1, "")],
                            "Writing": [("Ballpoint Pens", 1.99, 9.99, 2, "back_to_school"), ("Pencils", 0.99, 5.99, 1, "back_to_school")],
                            "Bags": [("Backpack", 14.99, 59.99, 1, "back_to_school"), ("Binder", 2.99, 9.99, 1, "back_to_school")]},
    },
    "Sports & Recreation": {
        "Fitness": {"Exercise": [("Yoga Mat", 9.99, 39.99, 1, "newyear"), ("Dumbbells", 14.99, 79.99, 1, "newyear"), ("Water Bottle", 7.99, 29.99, 1, "")]},
        "Outdoor Recreation": {"Camping & Sports": [("Camping Tent", 39.99, 199.99, 1, "summer"), ("Basketball", 14.99, 39.99, 1, ""),
                                                    ("Pool Float", 5.99, 24.99, 1, "summer")]},
    },
    "Seasonal": {
        "Holiday": {"Christmas": [("Artificial Christmas Tree", 49.99, 249.99, 1, "christmas"), ("Gift Wrap", 3.99, 12.99, 2, "christmas"),
                                  ("Greeting Cards", 2.99, 9.99, 1, "christmas;valentine")],
                    "Spring & Summer": [("Easter Basket", 9.99, 24.99, 1, "easter"), ("Valentine Card Pack", 2.99, 9.99, 1, "valentine"),
                                        ("Patio String Lights", 14.99, 39.99, 1, "summer")],
                    "Fall": [("Carving Pumpkin Kit", 4.99, 14.99, 1, "halloween"), ("Fall Wreath", 14.99, 39.99, 1, "thanksgiving")]},
    },
}  # fmt: skip

# department -> [(brand, company)]; the store brand "Cartwise" (Cartwise Retail) sells in every department.
BRANDS: dict[str, tuple[tuple[str, str], ...]] = {
    "Grocery": (("Harvest Farms", "Greenfield Foods"), ("Sunny Valley", "Greenfield Foods"), ("Golden Hearth", "Hearthstone Brands"),
                ("Blue Ridge Creamery", "Hearthstone Brands"), ("Prairie Gold", "Prairie Mills"), ("Ocean Crest", "Coastline Provisions"),
                ("Maple Lane", "Prairie Mills"), ("Fresh Select", "Coastline Provisions"), ("Brookside", "Greenfield Foods")),
    "Household": (("CleanCo", "Brightline Consumer"), ("BrightHome", "Brightline Consumer"), ("EverSoft", "Northwind Paper")),
    "Health & Beauty": (("Pure Glow", "Lumina Health"), ("Vita Plus", "Lumina Health"), ("Daily Care", "Caremark Labs"), ("Silk & Stone", "Caremark Labs")),
    "Home & Garden": (("Hearth & Home", "Oakline Living"), ("GreenThumb", "Oakline Living"), ("Copperleaf", "Forge Housewares")),
    "Electronics": (("Voltix", "Voltix Corp"), ("Nexa", "Nexa Devices"), ("Sonora", "Nexa Devices"), ("Pixelon", "Voltix Corp")),
    "Clothing": (("Urban Thread", "Threadline Apparel"), ("Northline", "Threadline Apparel"), ("Kidora", "Little Steps Co"), ("Stride", "Stride Athletics")),
    "Baby & Kids": (("Little Steps", "Little Steps Co"), ("Playwell", "Playwell Toys"), ("Cuddle Bear", "Playwell Toys")),
    "Pet Supplies": (("Happy Tails", "Companion Pet Co"), ("Whisker Works", "Companion Pet Co"), ("TrailPaw", "Outfield Pet")),
    "Automotive": (("RoadReady", "Motorway Supply"), ("ClearView", "Motorway Supply")),
    "Office Supplies": (("Inkwell", "Paperline Office"), ("Scholar", "Paperline Office")),
    "Sports & Recreation": (("Peak Active", "Stride Athletics"), ("Summit Trail", "Outfield Sports")),
    "Seasonal": (("Festive Lane", "Oakline Living"), ("Holiday House", "Hearthstone Brands")),
}  # fmt: skip
STORE_BRAND = ("Cartwise", "Cartwise Retail")

# Variant name -> price multiplier, per department kind.
FOOD_VARIANTS: tuple[tuple[str, float], ...] = (
    ("Regular", 1.0), ("Family Size", 1.6), ("Value Pack", 2.1), ("Organic", 1.35), ("Single Serve", 0.55),
    ("Low Fat", 1.05), ("Original", 1.0), ("Large", 1.3), ("Small", 0.75), ("Classic", 1.0),
)  # fmt: skip
GOODS_VARIANTS: tuple[tuple[str, float], ...] = (
    ("Standard", 1.0), ("Premium", 1.45), ("Value", 0.75), ("Deluxe", 1.8), ("Compact", 0.85),
    ("Pro", 1.6), ("Essential", 0.9), ("Plus", 1.2), ("Classic", 1.0), ("Lite", 0.8),
)  # fmt: skip
